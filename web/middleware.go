package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/session"
	"github.com/portiere/portiere/tenancy"
)

// maxFormBytes bounds a form body: every form here is a few fields.
const maxFormBytes = 64 << 10

// contentSecurityPolicy allows only this origin's scripts, styles and
// requests: no inline script or style, no framing, forms post here only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// secure sets the security headers of every response and turns a panic
// into a logged 500 page.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.cfg.CookieSecure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Pages show keys once, settings and names: never cache them.
			h.Set("Cache-Control", "no-store")
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.fail(w, r, fmt.Errorf("web: panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// visitor is the signed-in user of a request: the session and, in the
// dashboard, the user, the organization worked in and the role held there,
// and every membership (the organization switcher); in the mapper app, the
// mapper and whether they administer the platform.
type visitor struct {
	Session session.Session
	User    tenancy.User
	Org     tenancy.Organization // zero when the user has no membership left
	Role    tenancy.Role
	Orgs    []tenancy.UserMembership

	Mapper      *mapper.Mapper // the mapper app only
	MapperAdmin bool           // Mapper's LINE user id is in ADMIN_LINE_USER_IDS
}

// Principal is the visitor as credential's rules see it: a signed-in user
// acts with write scope, limited by the role alone.
func (v *visitor) Principal() credential.Principal {
	return credential.Principal{OrganizationID: v.Org.ID, UserID: v.User.ID, Role: v.Role, Scope: credential.ScopeWrite}
}

type visitorKey struct{}

func visitorFrom(r *http.Request) *visitor {
	v, _ := r.Context().Value(visitorKey{}).(*visitor)
	return v
}

// Cookie names. The __Host- prefix (Secure, Path=/, no Domain) keeps a
// sibling subdomain from planting them; browsers accept it over HTTPS only,
// so plain-HTTP development uses the bare names.
func (s *Server) sessionCookie() string {
	if s.cfg.CookieSecure {
		return "__Host-portiere_session"
	}
	return "portiere_session"
}

func (s *Server) csrfCookie() string {
	if s.cfg.CookieSecure {
		return "__Host-portiere_csrf"
	}
	return "portiere_csrf"
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.CookieSecure, SameSite: http.SameSiteLaxMode,
	})
}

// withVisitor resolves the session cookie into a visitor for the handlers.
// An unknown or expired session is cleared and the request goes on
// anonymous.
func (s *Server) withVisitor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(s.sessionCookie())
		if err != nil || c.Value == "" || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		v, err := s.loadVisitor(r.Context(), c.Value)
		if errors.Is(err, session.ErrNotFound) || errors.Is(err, tenancy.ErrNotFound) || errors.Is(err, mapper.ErrNotFound) {
			s.setCookie(w, s.sessionCookie(), "", -1)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), visitorKey{}, v)))
	})
}

func (s *Server) loadVisitor(ctx context.Context, token string) (*visitor, error) {
	se, err := s.cfg.Sessions.Session(ctx, session.Hash(token), s.cfg.Now())
	if err != nil {
		return nil, err
	}
	if s.cfg.App == AppMapper {
		m, err := s.cfg.Mappers.Mapper(ctx, se.UserID)
		if err != nil {
			return nil, err
		}
		return &visitor{Session: se, Mapper: &m, MapperAdmin: s.cfg.Mappers.IsAdmin(m.LineUserID)}, nil
	}
	u, err := s.cfg.Tenants.User(ctx, se.UserID)
	if err != nil {
		return nil, err
	}
	orgs, err := s.cfg.Tenants.UserMemberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	v := &visitor{Session: se, User: u, Orgs: orgs}
	// The session's organization, while the user is still a member of
	// it; else the first membership (a removed member lands elsewhere).
	for _, m := range orgs {
		if m.Organization.ID == se.OrganizationID {
			v.Org, v.Role = m.Organization, m.Role
		}
	}
	if v.Org.ID == "" && len(orgs) > 0 {
		v.Org, v.Role = orgs[0].Organization, orgs[0].Role
	}
	return v, nil
}

// anonymousCSRF is the double-submit token of a visitor not signed in: the
// value of the CSRF cookie the form pages set (requestCSRF).
func anonymousCSRF(r *http.Request) string {
	if t, ok := r.Context().Value(anonCSRFKey{}).(string); ok {
		return t
	}
	return ""
}

type anonCSRFKey struct{}

// csrf refuses a state-changing request whose token does not match: the
// session's token when signed in, the CSRF cookie's before. A request a
// browser marks as cross-site, or with a foreign Origin, is refused
// outright. Anonymous GETs get a CSRF cookie for the forms they render.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookieToken := ""
		if c, err := r.Cookie(s.csrfCookie()); err == nil {
			cookieToken = c.Value
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			if visitorFrom(r) == nil && !strings.HasPrefix(r.URL.Path, "/static/") {
				if cookieToken == "" {
					cookieToken = session.NewToken()
					s.setCookie(w, s.csrfCookie(), cookieToken, 0)
				}
				r = r.WithContext(context.WithValue(r.Context(), anonCSRFKey{}, cookieToken))
			}
			next.ServeHTTP(w, r)
			return
		}
		if err := s.checkCSRF(w, r, cookieToken); err != nil {
			s.fail(w, r, err)
			return
		}
		if visitorFrom(r) == nil {
			r = r.WithContext(context.WithValue(r.Context(), anonCSRFKey{}, cookieToken))
		}
		next.ServeHTTP(w, r)
	})
}

var errCSRF = &pageError{Status: http.StatusForbidden,
	Message: "This form has expired or was sent from another site. Go back, reload the page and try again."}

func (s *Server) checkCSRF(w http.ResponseWriter, r *http.Request, cookieToken string) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return errCSRF
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errCSRF
		}
	}
	if isMultipart(r) {
		// An upload: its handler streams the body, so it is not parsed
		// here (checkUploadCSRF, sources.go).
		return s.checkUploadCSRF(w, r, cookieToken)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Message: "The form could not be read."}
	}
	sent := r.PostForm.Get("csrf_token")
	if sent == "" {
		sent = r.Header.Get("X-CSRF-Token")
	}
	want := cookieToken
	if v := visitorFrom(r); v != nil {
		want = v.Session.CSRFToken
	}
	if !session.SameToken(sent, want) {
		return errCSRF
	}
	return refuseNUL(r.Form)
}

// refuseNUL refuses a form carrying a NUL character: no text column can
// store one (PostgreSQL answers an encoding error), and it is the sender's
// input, not a failure of the server.
func refuseNUL(form url.Values) error {
	for name, values := range form {
		for _, v := range values {
			if strings.ContainsRune(v, 0) {
				return &pageError{Status: http.StatusUnprocessableEntity,
					Message: "The field “" + name + "” contains a NUL character (\\u0000), which cannot be stored. Remove it and try again."}
			}
		}
	}
	return nil
}

// handlerFunc is a page handler: an error it returns is shown as a page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// visitorFunc is a handler for signed-in users.
type visitorFunc func(w http.ResponseWriter, r *http.Request, v *visitor) error

// page adapts h to http.Handler, rendering its error.
func (s *Server) page(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// signedIn requires a session: a GET without one is sent to the log-in
// page (and back afterwards), anything else refused with 401.
func (s *Server) signedIn(h visitorFunc) http.Handler {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		v := visitorFrom(r)
		if v == nil {
			if isHTMX(r) {
				// A partial (the index card's polling) after the session
				// ended: send the whole page to the log-in form instead
				// of swapping it into the card.
				w.Header().Set("HX-Redirect", "/login")
				w.WriteHeader(http.StatusNoContent)
				return nil
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return nil
			}
			return &pageError{Status: http.StatusUnauthorized, Message: "Your session has ended. Log in again."}
		}
		return h(w, r, v)
	})
}

// member is signedIn for pages of the organization worked in: a user with
// no membership left sees why instead.
func (s *Server) member(h visitorFunc) http.Handler {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, v *visitor) error {
		if v.Org.ID == "" {
			return s.render(w, r, http.StatusForbidden, "noorg", "No organization", "", nil)
		}
		return h(w, r, v)
	})
}

// isHTMX reports whether htmx sent r (it wants a fragment, not a page).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
