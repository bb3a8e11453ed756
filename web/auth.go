package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/session"
	"github.com/portiere/portiere/tenancy"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	if visitorFrom(r) != nil {
		http.Redirect(w, r, "/projects", http.StatusSeeOther)
	} else {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
	return nil
}

type signupData struct {
	Organization, Name, Email, Error string
	MinPassword                      int
}

func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) error {
	if visitorFrom(r) != nil {
		http.Redirect(w, r, "/projects", http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "signup", "Sign up", "", signupData{MinPassword: credential.MinPasswordLength})
}

// signup creates an organization and its owner, then signs the owner in.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	d := signupData{
		Organization: strings.TrimSpace(r.PostForm.Get("organization")),
		Name:         strings.TrimSpace(r.PostForm.Get("name")),
		Email:        strings.TrimSpace(r.PostForm.Get("email")),
		MinPassword:  credential.MinPasswordLength,
	}
	password := r.PostForm.Get("password")
	again := func(msg string) error {
		d.Error = msg
		return s.render(w, r, http.StatusUnprocessableEntity, "signup", "Sign up", "", d)
	}
	switch {
	case d.Organization == "" || len(d.Organization) > 200:
		return again("Enter your organization's name (at most 200 characters).")
	case !strings.Contains(d.Email, "@") || len(d.Email) > 320:
		return again("Enter a valid email address.")
	case len(d.Name) > 200:
		return again("Your name can have at most 200 characters.")
	case len(password) < credential.MinPasswordLength || len(password) > credential.MaxPasswordLength:
		return again("Choose a password of at least 8 characters.")
	}
	addr := clientAddress(r)
	if blocked, wait := s.signups.blocked(addr, s.cfg.Now()); blocked {
		return &pageError{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Message: "Too many organizations were created from your network in the last hour. Try again later."}
	}
	hash, err := s.cfg.Passwords.Hash(r.Context(), password)
	if err != nil {
		return err
	}
	// A taken slug gets a short random suffix; a taken email is the
	// user's to resolve.
	base := tenancy.SlugOf(d.Organization)
	slug := base
	var org tenancy.Organization
	var user tenancy.User
	for attempt := 0; ; attempt++ {
		org, user, err = s.cfg.Tenants.SignUp(r.Context(), tenancy.Organization{Name: d.Organization, Slug: slug},
			tenancy.User{Email: d.Email, Name: d.Name, PasswordHash: hash})
		if !errors.Is(err, tenancy.ErrConflict) || attempt == 4 {
			break
		}
		if _, uerr := s.cfg.Tenants.UserByEmail(r.Context(), d.Email); uerr == nil {
			break
		}
		slug = base + "-" + randomSuffix()
	}
	switch {
	case errors.Is(err, tenancy.ErrConflict):
		return again("An account with this email exists already. Log in instead.")
	case errors.Is(err, tenancy.ErrInvalid):
		return again("Check the organization name and email.")
	case err != nil:
		return err
	}
	s.signups.fail(addr, s.cfg.Now()) // counts sign-ups, not failures
	s.cfg.Logger.Info("web sign-up", "organization_id", org.ID, "user_id", user.ID)
	if err := s.startSession(w, r, user.ID, org.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/projects?welcome=1", http.StatusSeeOther)
	return nil
}

// startSession signs userID in working in orgID: a new session (a new
// token and CSRF token, so nothing from before the log-in carries over)
// in a fresh cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID, orgID string) error {
	token, se := session.Start(userID, orgID, r.UserAgent(), s.cfg.Now(), s.cfg.SessionTTL)
	if err := s.cfg.Sessions.CreateSession(r.Context(), se); err != nil {
		return err
	}
	s.setCookie(w, s.sessionCookie(), token, int(s.cfg.SessionTTL.Seconds()))
	s.setCookie(w, s.csrfCookie(), "", -1)
	return nil
}

type loginData struct {
	Email, Next, Error string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if visitorFrom(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "login", "Log in", "", loginData{Next: r.URL.Query().Get("next")})
}

// safeNext keeps a redirect after log-in on this site: a local path, not
// "//host" or a URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/projects"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/projects"
	}
	return next
}

// clientAddress is the peer's IP. Forwarded headers are not trusted: a
// client could set them to dodge the throttle.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	d := loginData{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: r.PostForm.Get("next")}
	password := r.PostForm.Get("password")
	key := strings.ToLower(d.Email) + "|" + clientAddress(r)
	now := s.cfg.Now()
	if blocked, wait := s.throttle.blocked(key, now); blocked {
		s.cfg.Logger.Warn("web log-in throttled", "client", clientAddress(r))
		return &pageError{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Message: "Too many failed log-ins for this email from your network. Wait a minute, then try again."}
	}
	user, err := s.verify(r.Context(), d.Email, password)
	if errors.Is(err, credential.ErrPasswordMismatch) {
		s.throttle.fail(key, now)
		d.Error = "The email or password is not right."
		return s.render(w, r, http.StatusUnauthorized, "login", "Log in", "", d)
	}
	if err != nil {
		return err
	}
	s.throttle.reset(key)
	orgs, err := s.cfg.Tenants.UserMemberships(r.Context(), user.ID)
	if err != nil {
		return err
	}
	orgID := ""
	if len(orgs) > 0 {
		orgID = orgs[0].Organization.ID
	}
	if err := s.startSession(w, r, user.ID, orgID); err != nil {
		return err
	}
	http.Redirect(w, r, safeNext(d.Next), http.StatusSeeOther)
	return nil
}

// verify returns the user whose email and password these are, or
// credential.ErrPasswordMismatch for an unknown email, a user without a
// password or a wrong password alike.
func (s *Server) verify(ctx context.Context, email, password string) (tenancy.User, error) {
	u, err := s.cfg.Tenants.UserByEmail(ctx, email)
	if errors.Is(err, tenancy.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		dummy, herr := s.dummyHash()
		if herr != nil {
			return tenancy.User{}, herr
		}
		_ = s.cfg.Passwords.Verify(ctx, password, dummy)
		return tenancy.User{}, credential.ErrPasswordMismatch
	}
	if err != nil {
		return tenancy.User{}, err
	}
	if err := s.cfg.Passwords.Verify(ctx, password, u.PasswordHash); err != nil {
		if errors.Is(err, credential.ErrMalformedHash) {
			return tenancy.User{}, credential.ErrPasswordMismatch
		}
		return tenancy.User{}, err
	}
	return u, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if v := visitorFrom(r); v != nil {
		if err := s.cfg.Sessions.DeleteSession(r.Context(), v.Session.TokenHash); err != nil {
			return err
		}
	}
	s.setCookie(w, s.sessionCookie(), "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// switchOrganization moves the session to another organization the user
// is a member of; any other id is 404.
func (s *Server) switchOrganization(w http.ResponseWriter, r *http.Request, v *visitor) error {
	id := r.PostForm.Get("organization_id")
	for _, m := range v.Orgs {
		if m.Organization.ID == id {
			if err := s.cfg.Sessions.SetSessionOrganization(r.Context(), v.Session.TokenHash, id); err != nil {
				return err
			}
			http.Redirect(w, r, "/projects", http.StatusSeeOther)
			return nil
		}
	}
	return &pageError{Status: http.StatusNotFound, Message: "You are not a member of that organization."}
}

type profileData struct {
	Notice    string
	ExpiresAt time.Time
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request, v *visitor) error {
	d := profileData{ExpiresAt: v.Session.ExpiresAt}
	if n := r.URL.Query().Get("ended"); n != "" {
		d.Notice = "Other sessions signed out: " + n + "."
	}
	return s.render(w, r, http.StatusOK, "profile", "Profile", "profile", d)
}

func (s *Server) signOutOthers(w http.ResponseWriter, r *http.Request, v *visitor) error {
	n, err := s.cfg.Sessions.DeleteUserSessions(r.Context(), v.User.ID, v.Session.TokenHash)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/profile?ended="+strconv.FormatInt(n, 10), http.StatusSeeOther)
	return nil
}

// randomSuffix is six random hex digits, to make a taken slug unique.
func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
