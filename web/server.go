package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/portiere/portiere/credential"
	"github.com/portiere/portiere/mappingjob"
	"github.com/portiere/portiere/searchindex"
	"github.com/portiere/portiere/session"
	"github.com/portiere/portiere/tenancy"
	"github.com/portiere/portiere/vocab"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Apps names the web apps `portiere web --app` accepts.
const (
	AppCloud  = "cloud"
	AppMapper = "mapper"
)

// VocabularyStatus is what the vocabulary page reads; vocabstore.Store is
// one.
type VocabularyStatus interface {
	// LastImport returns the latest successful import, or an error
	// wrapping vocab.ErrNotFound when there was none.
	LastImport(ctx context.Context) (vocab.Report, error)
	VocabularyCounts(ctx context.Context) ([]vocab.VocabularyCount, error)
}

// IndexState is the search index as the vocabulary page shows it.
type IndexState struct {
	State     string // e.g. "serving", "building", "not built yet", "unknown"
	Version   string // searchindex.Info.Version; "" when none is known
	Embedder  string
	Concepts  int
	CreatedAt time.Time
	Detail    string
}

// IndexStateOf describes the index a process serves (searchindex.Live's
// Info and Check), for compositions that hold one.
func IndexStateOf(info searchindex.Info, ok bool, check error) IndexState {
	st := IndexState{State: "serving"}
	if ok {
		st.Version, st.Embedder, st.Concepts, st.CreatedAt = info.Version, info.EmbedderID, info.Concepts, info.IndexCreatedAt
	}
	switch {
	case errors.Is(check, searchindex.ErrBuilding):
		st.State = "loading"
	case check != nil && ok:
		st.State, st.Detail = "serving (reload failed)", check.Error()
	case check != nil:
		st.State, st.Detail = "not available", check.Error()
	}
	return st
}

// Config is what a web app needs. The dashboard (AppCloud) requires
// Tenants, Sessions, Passwords and Keys; the mapper app (AppMapper)
// Sessions (mapperstore.Sessions) and Mappers.
type Config struct {
	App       string // AppCloud or AppMapper; "" means AppCloud
	Tenants   tenancy.Store
	Sessions  session.Store
	Passwords *credential.PasswordGate
	Keys      *credential.KeyHasher
	// Quota, when set, holds projects and members to the organization's
	// plan; nil means no limit.
	Quota Quota
	// Vocabulary, when set, fills the vocabulary page.
	Vocabulary VocabularyStatus
	// Index, when set, reports the search index's state; nil shows it as
	// unknown.
	Index func(ctx context.Context) IndexState
	// Review, when set, serves each project's review queue and exports
	// (mappingjobstore.Store); Concepts (vocabstore.Store) must be set
	// with it, to resolve overrides and show concept details.
	Review   ReviewItems
	Concepts ConceptReader
	// Search, when set, answers the override's search-as-you-type (the
	// live search index); nil leaves override by concept id only.
	Search SearchProvider
	// Billing, when set, fills the billing page (billing.Service);
	// Payments says Stripe is configured (Checkout and portal buttons).
	Billing  BillingService
	Payments bool
	// Sources, when set, stores the source CSVs uploaded on a project's
	// sources page (mappingjobstore.Store is one); nil hides uploads.
	Sources mappingjob.SourceStore
	// UploadMaxBytes bounds an uploaded CSV (UPLOAD_MAX_BYTES); 0 means
	// sourcefile.DefaultMaxBytes.
	UploadMaxBytes int64
	// UploadSlots bounds each organization's uploads in progress (a page
	// with 429 past it), shared with the API beside it; nil gives the
	// dashboard its own with the default limit.
	UploadSlots *mappingjob.UploadSlots
	// Mapping, when set, starts, follows and cancels bulk mappings
	// (*workflows.Client is one); nil (no Temporal) shows that bulk
	// mapping needs the worker.
	Mapping BulkMapping
	// IndexBuilds, when set, lets organization owners and admins start
	// the search index build from the vocabulary page, which then follows
	// it (*workflows.Client is one); nil (no Temporal) hides the button.
	IndexBuilds IndexBuilder
	// Items, when set, feeds the results overview's charts
	// (mappingjobstore.Store is one).
	Items mappingjob.ItemLister
	// MapperConfig configures the mapper app; the dashboard ignores it.
	MapperConfig
	// APIURL is the API's public address (NEXT_PUBLIC_API_URL), shown in
	// pages.
	APIURL string
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// CookieSecure marks cookies Secure (HTTPS only) and sends HSTS.
	CookieSecure bool
	// LoginFailures failed log-ins per email and client address within
	// LoginWindow are allowed; the next attempt is answered 429 (defaults
	// 5 per minute).
	LoginFailures int
	LoginWindow   time.Duration
	Logger        *slog.Logger
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// signupsPerHour bounds the organizations one client address may create
// in an hour: enough for a team trying things out, not for a script
// filling the database.
const signupsPerHour = 10

// Server is one web app. It is safe for concurrent use.
type Server struct {
	cfg      Config
	pages    pages
	throttle *throttle // failed log-ins per email and client address
	signups  *throttle // sign-ups per client address
	// dummyHash is verified against when the email is unknown, so a
	// log-in takes as long whether or not the account exists; made on
	// first use (an argon2id hash costs 64 MiB and a moment).
	dummyHash func() (string, error)
	handler   http.Handler
	csp       string // the Content-Security-Policy of every response
	// ownSlots bounds uploads when cfg.UploadSlots is nil.
	ownSlots mappingjob.UploadSlots
}

// New checks cfg and builds the app.
func New(cfg Config) (*Server, error) {
	switch cfg.App {
	case "", AppCloud:
		cfg.App = AppCloud
		if cfg.Tenants == nil || cfg.Sessions == nil || cfg.Passwords == nil || cfg.Keys == nil {
			return nil, errors.New("web: Config needs Tenants, Sessions, Passwords and Keys")
		}
	case AppMapper:
		if cfg.Sessions == nil || cfg.Mappers == nil {
			return nil, errors.New("web: the mapper app needs Sessions and Mappers")
		}
		if cfg.LIFFSDKURL == "" {
			cfg.LIFFSDKURL = DefaultLIFFSDKURL
		}
	default:
		return nil, fmt.Errorf("web: unknown app %q (want cloud or mapper)", cfg.App)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.LoginFailures <= 0 {
		cfg.LoginFailures = 5
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "http://localhost:8000"
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, pages: p, throttle: newThrottle(cfg.LoginFailures, cfg.LoginWindow),
		signups: newThrottle(signupsPerHour, time.Hour),
		dummyHash: sync.OnceValues(func() (string, error) {
			return credential.HashPassword("portiere-no-such-user-password")
		})}
	s.csp = contentSecurityPolicy
	if cfg.App == AppMapper {
		if s.csp, err = mapperCSP(cfg.MapperConfig); err != nil {
			return nil, err
		}
		s.handler = s.mapperRoutes()
	} else {
		s.handler = s.routes()
	}
	return s, nil
}

// ServeHTTP serves the app.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Serve serves the app on ln until ctx is done, then shuts down within
// grace. It returns nil after a shutdown caused by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shell is what every app serves the same way: the embedded assets and
// the health check.
func (s *Server) shell() *http.ServeMux {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux
}

// chain wraps an app's routes in the middleware every app shares, after a
// 404 page for everything else: security headers, then the session, then
// CSRF.
func (s *Server) chain(mux *http.ServeMux) http.Handler {
	mux.Handle("/", s.page(func(w http.ResponseWriter, r *http.Request) error {
		return &pageError{Status: http.StatusNotFound}
	}))
	return s.secure(s.withVisitor(s.csrf(mux)))
}

func (s *Server) routes() http.Handler {
	mux := s.shell()
	mux.Handle("GET /{$}", s.page(s.home))

	mux.Handle("GET /signup", s.page(s.signupForm))
	mux.Handle("POST /signup", s.page(s.signup))
	mux.Handle("GET /login", s.page(s.loginForm))
	mux.Handle("POST /login", s.page(s.login))
	mux.Handle("POST /logout", s.page(s.logout))

	mux.Handle("POST /organization", s.member(s.switchOrganization))
	mux.Handle("GET /profile", s.signedIn(s.profile))
	mux.Handle("POST /profile/sign-out-others", s.signedIn(s.signOutOthers))

	mux.Handle("GET /projects", s.member(s.projects))
	mux.Handle("GET /projects/new", s.member(s.newProjectForm))
	mux.Handle("POST /projects", s.member(s.createProject))
	mux.Handle("GET /projects/{id}", s.member(s.project))
	mux.Handle("POST /projects/{id}/settings", s.member(s.updateSettings))
	mux.Handle("GET /projects/{id}/delete", s.member(s.deleteProjectForm))
	mux.Handle("POST /projects/{id}/delete", s.member(s.deleteProject))

	mux.Handle("GET /api-keys", s.member(s.apiKeys))
	mux.Handle("POST /api-keys", s.member(s.createAPIKey))
	mux.Handle("POST /api-keys/{id}/revoke", s.member(s.revokeAPIKey))

	mux.Handle("GET /members", s.member(s.members))
	mux.Handle("POST /members/invitations", s.member(s.invite))
	mux.Handle("GET /invite/{token}", s.page(s.invitationPage))
	mux.Handle("POST /invite/{token}", s.page(s.acceptInvitation))
	mux.Handle("GET /vocabulary", s.member(s.vocabulary))
	mux.Handle("GET /vocabulary/index", s.member(s.indexState))
	mux.Handle("POST /vocabulary/index-build", s.member(s.startIndexBuild))
	s.sourceRoutes(mux)

	s.reviewRoutes(mux)
	s.exportRoutes(mux)
	s.billingRoutes(mux)
	return s.chain(mux)
}

// staticHandler serves the embedded assets. They change only with the
// binary, so browsers may keep them for an hour.
func staticHandler(files fs.FS) http.Handler {
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
