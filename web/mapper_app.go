package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/portiere/portiere/crowd"
	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/platform/line"
)

// LineVerifier verifies a LINE Login ID token (*line.Verifier is one).
type LineVerifier interface {
	Verify(ctx context.Context, idToken, nonce string) (line.Identity, error)
}

// MapperConfig is the mapper app's part of Config.
type MapperConfig struct {
	// Mappers is the identity side: sign-in, registration, KYC, admin
	// decisions (required for AppMapper).
	Mappers *mapper.Service
	// LineLogin verifies LIFF ID tokens; nil leaves LINE sign-in out (dev
	// login only).
	LineLogin LineVerifier
	// LIFFID is NEXT_PUBLIC_LIFF_ID, the LIFF app the sign-in page starts.
	LIFFID string
	// LIFFSDKURL is where the sign-in page loads LINE's LIFF SDK from
	// (default DefaultLIFFSDKURL; browser tests serve a stand-in). Its
	// origin is the one script origin the policy adds to 'self'.
	LIFFSDKURL string
	// DevLogin shows a form that signs in as any LINE user id. The
	// composition root sets it only in dev mode (config refuses it
	// elsewhere).
	DevLogin bool
	// Crowd, when set, serves the task feed, the vote page, the
	// leaderboard, earnings and the admin's payouts; Config.Concepts
	// resolves overrides and Config.Search answers the override's search.
	Crowd *crowd.Service
	// Payouts, when set, lets admins select mappers and start a payout
	// batch (Temporal configured); PayoutMinCents is the worker's minimum
	// payout (MAPPER_PAYOUT_MIN_CENTS), which the pending list judges by.
	Payouts        PayoutStarter
	PayoutMinCents int64
	// PayoutAccounts, when set, serves the Stripe Connect onboarding link
	// and the account's status (STRIPE_SECRET_KEY configured).
	PayoutAccounts PayoutAccounts
}

// DefaultLIFFSDKURL is LINE's LIFF SDK (v2), which LINE serves only from
// its CDN.
const DefaultLIFFSDKURL = "https://static.line-scdn.net/liff/edge/2/sdk.js"

// mapperCSP is the mapper app's Content-Security-Policy: the dashboard's,
// plus, when LIFF sign-in is configured, the SDK's origin for scripts and
// the LINE endpoints the SDK calls. Still no inline script or style.
func mapperCSP(cfg MapperConfig) (string, error) {
	if cfg.LIFFID == "" {
		return contentSecurityPolicy, nil
	}
	u, err := url.Parse(cfg.LIFFSDKURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("web: LIFF SDK URL %q is not an http(s) URL", cfg.LIFFSDKURL)
	}
	origin := u.Scheme + "://" + u.Host
	return "default-src 'self'; script-src 'self' " + origin + "; style-src 'self'; img-src 'self' data: https://profile.line-scdn.net; " +
		"connect-src 'self' https://api.line.me https://access.line.me https://liffsdk.line-scdn.net; " +
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'", nil
}

// mapperRoutes are the mapper app's pages on the shared shell.
func (s *Server) mapperRoutes() http.Handler {
	mux := s.shell()
	mux.Handle("GET /{$}", s.page(s.mapperHome))
	mux.Handle("GET /login", s.page(s.mapperLoginForm))
	mux.Handle("POST /login/line", s.page(s.lineLogin))
	mux.Handle("POST /login/dev", s.page(s.devLogin))
	mux.Handle("POST /logout", s.page(s.logout))

	mux.Handle("GET /register", s.mapperPage(s.registerForm))
	mux.Handle("POST /register", s.mapperPage(s.register))
	mux.Handle("GET /documents", s.mapperPage(s.documentsPage))
	mux.Handle("POST /documents", s.mapperPage(s.uploadDocument))
	mux.Handle("GET /status", s.mapperPage(s.statusPage))

	mux.Handle("GET /admin", s.mapperAdmin(s.adminApplications))
	mux.Handle("GET /admin/mappers/{id}", s.mapperAdmin(s.adminMapper))
	mux.Handle("POST /admin/mappers/{id}/decision", s.mapperAdmin(s.adminDecide))
	mux.Handle("POST /admin/mappers/{id}/terms", s.mapperAdmin(s.adminTerms))
	mux.Handle("GET /admin/documents/{id}", s.mapperAdmin(s.adminDocument))
	// Anything else under /admin: 403 for non-admins too, so no admin
	// path answers them differently (404 only to admins).
	mux.Handle("/admin/", s.mapperAdmin(func(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
		return &pageError{Status: http.StatusNotFound}
	}))
	s.crowdRoutes(mux)
	s.payoutAccountRoutes(mux)
	return s.chain(mux)
}

// mapperFunc is a handler for a signed-in mapper.
type mapperFunc func(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error

// mapperPage requires a signed-in mapper (signedIn's redirect otherwise).
func (s *Server) mapperPage(h mapperFunc) http.Handler {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, v *visitor) error {
		return h(w, r, v, *v.Mapper)
	})
}

// mapperWhen admits signed-in mappers for whom admitted holds; anyone else
// is sent to redirect (a GET) or refused with 403 and message (any other
// method, where a redirect would drop the form).
func (s *Server) mapperWhen(admitted func(mapper.Mapper) bool, redirect, message string, h mapperFunc) http.Handler {
	return s.mapperPage(func(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
		if !admitted(m) {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, redirect, http.StatusSeeOther)
				return nil
			}
			return &pageError{Status: http.StatusForbidden, Message: message}
		}
		return h(w, r, v, m)
	})
}

// mapperAdmin requires a signed-in platform admin: anyone else signed in
// gets 403, on every admin route and method.
func (s *Server) mapperAdmin(h mapperFunc) http.Handler {
	return s.mapperPage(func(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
		if !v.MapperAdmin {
			s.cfg.Logger.Warn("mapper admin page refused", "mapper_id", m.ID, "path", r.URL.Path)
			return &pageError{Status: http.StatusForbidden, Message: "This page is for mapper platform admins."}
		}
		return h(w, r, v, m)
	})
}

// mapperHome sends each visitor where their state says: sign in, the
// registration form, the status page, or (admins) the applications.
func (s *Server) mapperHome(w http.ResponseWriter, r *http.Request) error {
	v := visitorFrom(r)
	to := "/login"
	switch {
	case v == nil:
	case v.Mapper.Status == mapper.StatusRegistering && !v.MapperAdmin:
		to = "/register"
	case v.MapperAdmin && v.Mapper.Status == mapper.StatusRegistering:
		to = "/admin"
	case v.Mapper.Status == mapper.StatusApproved && s.cfg.Crowd != nil:
		to = "/tasks"
	default:
		to = "/status"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

type mapperLoginData struct {
	LIFFID   string
	SDKURL   string
	Line     bool
	DevLogin bool
	Error    string
}

// Unconfigured reports that no way to sign in is configured (the page
// says what to set).
func (d mapperLoginData) Unconfigured() bool { return !d.Line && !d.DevLogin }

func (s *Server) mapperLoginForm(w http.ResponseWriter, r *http.Request) error {
	if visitorFrom(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	return s.render(w, r, http.StatusOK, "mapper_login", "Sign in", "",
		mapperLoginData{LIFFID: s.cfg.LIFFID, SDKURL: s.cfg.LIFFSDKURL, Line: s.cfg.LineLogin != nil && s.cfg.LIFFID != "", DevLogin: s.cfg.DevLogin})
}

// lineLogin signs in the LINE user a LIFF ID token names, after verifying
// it with LINE (signature, audience = LINE_CHANNEL_ID, expiry).
func (s *Server) lineLogin(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.LineLogin == nil {
		return &pageError{Status: http.StatusNotFound, Message: "LINE sign-in is not configured here."}
	}
	id, err := s.cfg.LineLogin.Verify(r.Context(), r.PostForm.Get("id_token"), "")
	if errors.Is(err, line.ErrInvalidToken) {
		s.cfg.Logger.Warn("LINE ID token refused", "client", clientAddress(r), "error", err)
		return s.render(w, r, http.StatusUnauthorized, "mapper_login", "Sign in", "", mapperLoginData{
			LIFFID: s.cfg.LIFFID, SDKURL: s.cfg.LIFFSDKURL, Line: s.cfg.LIFFID != "", DevLogin: s.cfg.DevLogin,
			Error: "LINE could not confirm who you are. Close the app and open it again from LINE."})
	}
	if err != nil {
		return &pageError{Status: http.StatusServiceUnavailable, Message: "LINE is not answering. Try again in a moment."}
	}
	return s.mapperSignIn(w, r, id.UserID, id.DisplayName)
}

// devLogin signs in as any LINE user id: development only.
func (s *Server) devLogin(w http.ResponseWriter, r *http.Request) error {
	if !s.cfg.DevLogin {
		return &pageError{Status: http.StatusNotFound}
	}
	uid := strings.TrimSpace(r.PostForm.Get("line_user_id"))
	if uid == "" || len(uid) > 64 {
		return s.render(w, r, http.StatusUnprocessableEntity, "mapper_login", "Sign in", "", mapperLoginData{
			LIFFID: s.cfg.LIFFID, SDKURL: s.cfg.LIFFSDKURL, Line: s.cfg.LineLogin != nil && s.cfg.LIFFID != "", DevLogin: true,
			Error: "Enter a LINE user id (1 to 64 characters)."})
	}
	return s.mapperSignIn(w, r, uid, r.PostForm.Get("display_name"))
}

func (s *Server) mapperSignIn(w http.ResponseWriter, r *http.Request, lineUserID, name string) error {
	m, err := s.cfg.Mappers.SignIn(r.Context(), lineUserID, name)
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("mapper signed in", "mapper_id", m.ID)
	if err := s.startSession(w, r, m.ID, ""); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// Suggested expertise: the vocabularies and domains the form offers as
// checkboxes (others can be typed).
var (
	suggestedVocabularies = []string{"SNOMED", "ICD10CM", "ICD10", "ICD9CM", "LOINC", "RxNorm", "ATC", "NDC", "CPT4", "MedDRA"}
	suggestedDomains      = []string{"Condition", "Drug", "Measurement", "Procedure", "Observation", "Device", "Specimen"}
)

type registerData struct {
	Form          mapper.Registration
	Errors        mapper.FieldErrors
	Other         string // vocabularies and domains typed in, comma-separated
	Vocabularies  []string
	Domains       []string
	Reapply       bool
	StatusReason  string
	YearsText     string
	CheckedVocab  map[string]bool
	CheckedDomain map[string]bool
}

func (s *Server) newRegisterData(m mapper.Mapper, r mapper.Registration) registerData {
	d := registerData{Form: r, Vocabularies: suggestedVocabularies, Domains: suggestedDomains,
		Reapply: m.Status == mapper.StatusRejected || m.Status == mapper.StatusInfoRequested, StatusReason: m.StatusReason,
		CheckedVocab: map[string]bool{}, CheckedDomain: map[string]bool{}}
	if r.YearsExperience > 0 || r.LegalName != "" {
		d.YearsText = strconv.Itoa(r.YearsExperience)
	}
	var other []string
	for _, v := range r.Expertise.Vocabularies {
		if contains(suggestedVocabularies, v) {
			d.CheckedVocab[v] = true
		} else {
			other = append(other, v)
		}
	}
	for _, v := range r.Expertise.Domains {
		if contains(suggestedDomains, v) {
			d.CheckedDomain[v] = true
		} else {
			other = append(other, v)
		}
	}
	d.Other = strings.Join(other, ", ")
	return d
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// canSubmit reports whether m's state lets them (re)submit the form.
func canSubmit(m mapper.Mapper) bool {
	_, err := mapper.Next(m.Status, mapper.ActionSubmit)
	return err == nil
}

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	if !canSubmit(m) {
		http.Redirect(w, r, "/status", http.StatusSeeOther)
		return nil
	}
	reg := mapper.Registration{LegalName: m.LegalName, Email: m.Email, Title: m.Title, Affiliation: m.Affiliation,
		Expertise: m.Expertise, YearsExperience: m.YearsExperience}
	return s.render(w, r, http.StatusOK, "mapper_register", "Apply", "register", s.newRegisterData(m, reg))
}

func (s *Server) register(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	f := r.PostForm
	reg := mapper.Registration{LegalName: f.Get("legal_name"), Email: f.Get("email"), Title: f.Get("title"),
		Affiliation: f.Get("affiliation"), Expertise: mapper.Expertise{Vocabularies: f["vocabularies"], Domains: f["domains"]}}
	// Typed-in areas count as vocabularies: the feed matches both lists.
	for _, o := range strings.Split(f.Get("other_expertise"), ",") {
		reg.Expertise.Vocabularies = append(reg.Expertise.Vocabularies, o)
	}
	years, yerr := strconv.Atoi(strings.TrimSpace(f.Get("years_experience")))
	if yerr != nil {
		years = -1
	}
	reg.YearsExperience = years
	reg = reg.Normalize()
	_, err := s.cfg.Mappers.Register(r.Context(), m.ID, reg)
	var fe mapper.FieldErrors
	if errors.As(err, &fe) {
		d := s.newRegisterData(m, reg)
		d.Errors, d.YearsText = fe, strings.TrimSpace(f.Get("years_experience"))
		return s.render(w, r, http.StatusUnprocessableEntity, "mapper_register", "Apply", "register", d)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/documents?submitted=1", http.StatusSeeOther)
	return nil
}

type documentsData struct {
	Documents []mapper.Document
	Kinds     []mapper.DocumentKind
	MaxMiB    int64
	CanUpload bool
	Error     string
	Notice    string
}

func (s *Server) documentsData(r *http.Request, m mapper.Mapper) (documentsData, error) {
	docs, err := s.cfg.Mappers.Documents(r.Context(), m.ID)
	if err != nil {
		return documentsData{}, err
	}
	return documentsData{Documents: docs, Kinds: []mapper.DocumentKind{mapper.KindGovernmentID, mapper.KindProfessionalCredential},
		MaxMiB: s.cfg.Mappers.MaxDocumentBytes() >> 20, CanUpload: m.Status != mapper.StatusApproved && m.Status != mapper.StatusSuspended}, nil
}

func (s *Server) documentsPage(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	d, err := s.documentsData(r, m)
	if err != nil {
		return err
	}
	switch {
	case r.URL.Query().Get("submitted") == "1":
		d.Notice = "Your application is submitted. Add your KYC documents so an admin can review it."
	case r.URL.Query().Get("uploaded") == "1":
		d.Notice = "Document uploaded and stored encrypted."
	}
	return s.render(w, r, http.StatusOK, "mapper_documents", "KYC documents", "documents", d)
}

// uploadDocument reads a multipart form (csrf_token first — checked by the
// CSRF middleware without parsing the body —, then kind, then the file):
// the file is read up to the size limit plus one byte, so a larger one is
// refused without being buffered whole.
func (s *Server) uploadDocument(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	again := func(status int, msg string) error {
		d, err := s.documentsData(r, m)
		if err != nil {
			return err
		}
		d.Error = msg
		return s.render(w, r, status, "mapper_documents", "KYC documents", "documents", d)
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return again(http.StatusBadRequest, "Choose a file and send the form again.")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var kind mapper.DocumentKind
	var content []byte
	limit := s.cfg.Mappers.MaxDocumentBytes()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return again(http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d MiB.", limit>>20))
		}
		if err != nil {
			return again(http.StatusBadRequest, "The upload was interrupted. Try again.")
		}
		switch part.FormName() {
		case "kind":
			b, _ := io.ReadAll(io.LimitReader(part, 64))
			kind = mapper.DocumentKind(strings.TrimSpace(string(b)))
		case "document":
			content, err = io.ReadAll(io.LimitReader(part, limit+1))
			if errors.As(err, &mbe) || int64(len(content)) > limit {
				return again(http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d MiB.", limit>>20))
			}
			if err != nil {
				return again(http.StatusBadRequest, "The upload was interrupted. Try again.")
			}
		}
		part.Close()
	}
	_, err = s.cfg.Mappers.Upload(r.Context(), m.ID, kind, content)
	var fe mapper.FieldErrors
	if errors.As(err, &fe) {
		return again(http.StatusUnprocessableEntity, fe[0].Message)
	}
	if err != nil {
		return err
	}
	s.cfg.Logger.Info("KYC document uploaded", "mapper_id", m.ID, "kind", kind)
	http.Redirect(w, r, "/documents?uploaded=1", http.StatusSeeOther)
	return nil
}

type statusData struct {
	Mapper        mapper.Mapper
	Documents     int
	PayoutAccount bool
}

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request, v *visitor, m mapper.Mapper) error {
	if m.Status == mapper.StatusRegistering {
		http.Redirect(w, r, "/register", http.StatusSeeOther)
		return nil
	}
	docs, err := s.cfg.Mappers.Documents(r.Context(), m.ID)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "mapper_status", statusTitle(m.Status), "status", statusData{Mapper: m, Documents: len(docs), PayoutAccount: s.cfg.PayoutAccounts != nil})
}

func statusTitle(st mapper.Status) string {
	switch st {
	case mapper.StatusPending:
		return "Application under review"
	case mapper.StatusApproved:
		return "You are approved"
	case mapper.StatusRejected:
		return "Application not approved"
	case mapper.StatusInfoRequested:
		return "More information needed"
	case mapper.StatusSuspended:
		return "Account suspended"
	}
	return "Your application"
}

// asFieldErrors is errors.As for the form errors the mapper service
// returns.
func asFieldErrors(err error, fe *mapper.FieldErrors) bool { return err != nil && errors.As(err, fe) }
