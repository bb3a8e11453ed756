package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/tenancy"
)

// pages holds one template set per page: the layout and the page's
// "content" (each page defines its own, so they are parsed apart).
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"datetime": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			return t.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if t != nil {
				return t.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return "—"
	},
	"join": strings.Join,
	"count": func(v any) string {
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		}
		s := strconv.FormatInt(n, 10)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	},
	"money":      money,
	"dict2money": func(currency string, cents int64) crowd.Money { return crowd.Money{Currency: currency, Cents: cents} },
	"percent":    func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

func parsePages() (pages, error) {
	layout, err := fs.ReadFile(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := pages{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		body, err := fs.ReadFile(templateFiles, n)
		if err != nil {
			return nil, err
		}
		t, err := template.New(name).Funcs(funcs).Parse(string(layout))
		if err == nil {
			_, err = t.Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		p[name] = t
	}
	return p, nil
}

// view is what every page's template receives: the layout's fields and the
// page's own Data.
type view struct {
	Title  string
	Nav    string // the main navigation entry to mark current
	User   *tenancy.User
	Org    tenancy.Organization
	Orgs   []tenancy.UserMembership
	CSRF   string
	APIURL string
	// Admin is whether the visitor administers the organization worked in
	// (the navigation shows the API keys page only then), or, in the
	// mapper app, the mapper platform.
	Admin bool
	// App is AppCloud or AppMapper (the layout's brand and navigation).
	App string
	// Mapper is the signed-in mapper (the mapper app); Crowd says the
	// crowd pages are served.
	Mapper *mapper.Mapper
	Crowd  bool
	Data   any
}

// render writes page with status; the body is rendered into a buffer
// first so a template error becomes a clean 500 page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, title, nav string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	v := view{Title: title, Nav: nav, APIURL: s.cfg.APIURL, Data: data, App: s.cfg.App, Crowd: s.cfg.Crowd != nil}
	if vis := visitorFrom(r); vis != nil && vis.Mapper != nil {
		v.Mapper, v.Admin, v.CSRF = vis.Mapper, vis.MapperAdmin, vis.Session.CSRFToken
	} else if vis != nil {
		v.User, v.Org, v.Orgs, v.CSRF = &vis.User, vis.Org, vis.Orgs, vis.Session.CSRFToken
		v.Admin = vis.Org.ID != "" && vis.Principal().CanAdminProject("") == nil
	} else {
		v.CSRF = anonymousCSRF(r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("web: render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// fragment renders one named template of page (an htmx partial).
func (s *Server) fragment(w http.ResponseWriter, page, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("web: render %s/%s: %w", page, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := w.Write(buf.Bytes())
	return err
}

// pageError is an error shown as a page with its status. Message is safe
// to show; empty takes the status's standard wording.
type pageError struct {
	Status  int
	Message string
	// RetryAfter, when set, is sent as Retry-After (429).
	RetryAfter time.Duration
}

func (e *pageError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

var headings = map[int]string{
	http.StatusBadRequest:          "Bad request",
	http.StatusUnauthorized:        "Log in again",
	http.StatusForbidden:           "Not allowed",
	http.StatusNotFound:            "Page not found",
	http.StatusUnprocessableEntity: "Check the form",
	http.StatusTooManyRequests:     "Too many attempts",
	http.StatusConflict:            "Already changed",
	http.StatusInternalServerError: "Something went wrong",
	http.StatusServiceUnavailable:  "Temporarily unavailable",
}

var messages = map[int]string{
	http.StatusNotFound:            "There is no such page, or it belongs to an organization you are not working in.",
	http.StatusForbidden:           "Your role in this organization does not allow this.",
	http.StatusInternalServerError: "The error was logged. Try again in a moment; if it persists, tell your administrator the time it happened.",
	http.StatusServiceUnavailable:  "A service Portiere needs is not answering. Try again in a moment.",
}

// statusOf maps an error to the page to show: pageError as it is, the
// domain's sentinel errors by kind, anything else a logged 500.
func statusOf(err error) (status int, message string, internal bool) {
	var pe *pageError
	var de *credential.DeniedError
	switch {
	case errors.As(err, &pe):
		return pe.Status, pe.Message, false
	case errors.As(err, &de):
		if errors.Is(de.Kind, credential.ErrForbidden) {
			return http.StatusForbidden, de.Detail + ".", false
		}
		return http.StatusUnauthorized, de.Detail, false
	case errors.Is(err, tenancy.ErrNotFound):
		return http.StatusNotFound, "", false
	case errors.Is(err, tenancy.ErrForbidden):
		return http.StatusForbidden, "", false
	case errors.Is(err, mapper.ErrNotFound):
		return http.StatusNotFound, "There is no such mapper or document.", false
	case errors.Is(err, mapper.ErrForbidden):
		return http.StatusForbidden, "This page is for mapper platform admins.", false
	case errors.Is(err, mapper.ErrConflict):
		return http.StatusConflict, conflictMessage(err), false
	case errors.Is(err, mapper.ErrInvalid):
		return http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), "mapper: invalid: "), false
	}
	return http.StatusInternalServerError, "", true
}

// fail renders err as a friendly error page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, internal := statusOf(err)
	if internal {
		s.cfg.Logger.Error("web request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	var pe *pageError
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(pe.RetryAfter.Seconds()+0.999)))
	}
	if msg == "" {
		msg = messages[status]
	}
	heading := headings[status]
	if heading == "" {
		heading = http.StatusText(status)
	}
	if rerr := s.render(w, r, status, "error", heading, "", map[string]string{"Heading": heading, "Message": msg}); rerr != nil {
		s.cfg.Logger.Error("web error page failed", "error", rerr)
		http.Error(w, heading, status)
	}
}

// conflictMessage is a mapper conflict in words: the state moved on (for
// instance another admin decided first).
func conflictMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "mapper: conflict: "); i >= 0 {
		msg = msg[i+len("mapper: conflict: "):]
	}
	return "This was not done: " + msg + ". Reload the page to see the current state."
}
