package mapperstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portiere/portiere/mapper"
	"github.com/portiere/portiere/mapper/mapperstore"
	"github.com/portiere/portiere/platform/postgres/dbtest"
	"github.com/portiere/portiere/session"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const admin = "Uadmin0000000000000000000000000001"

type fixture struct {
	svc      *mapper.Service
	st       *mapperstore.Store
	sessions *mapperstore.Sessions
	pool     *pgxpool.Pool
}

func service(t *testing.T) (*mapper.Service, *mapperstore.Store, *mapperstore.Sessions) {
	f := newFixture(t)
	return f.svc, f.st, f.sessions
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := dbtest.New(t)
	st := mapperstore.New(pool)
	sealer, err := mapper.NewSealer([]mapper.Key{{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{mapper.NewService(st, sealer, mapper.NewAdmins([]string{admin}), mapper.Options{MaxDocumentBytes: 1 << 10}), st, mapperstore.NewSessions(pool), pool}
}

func registration() mapper.Registration {
	return mapper.Registration{LegalName: "Somchai Jaidee", Email: "somchai@example.org", Title: "Medical coder",
		Affiliation: "Siriraj Hospital", Expertise: mapper.Expertise{Vocabularies: []string{"ICD10CM"}, Domains: []string{"Condition"}}, YearsExperience: 7}
}

var pdf = []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, st, _ := service(t)

	m, err := svc.SignIn(ctx, "Uline1", "Somchai")
	if err != nil || m.Status != mapper.StatusRegistering || m.DisplayName != "Somchai" || m.RatePercent != 100 {
		t.Fatalf("first sign-in: %+v %v", m, err)
	}
	again, err := svc.SignIn(ctx, "Uline1", "Other name")
	if err != nil || again.ID != m.ID || again.DisplayName != "Somchai" {
		t.Fatalf("second sign-in: %+v %v", again, err)
	}
	// Concurrent first sign-ins of one LINE user make one mapper.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mm, err := svc.SignIn(ctx, "Uline-race", "R")
			if err != nil {
				t.Error(err)
			}
			ids[i] = mm.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("racing sign-ins made two mappers: %v", ids)
		}
	}

	// Invalid registration writes nothing.
	bad := registration()
	bad.Email = "nope"
	if _, err := svc.Register(ctx, m.ID, bad); !errors.Is(err, mapper.ErrInvalid) {
		t.Fatalf("bad email: %v", err)
	}
	if got, _ := st.Mapper(ctx, m.ID); got.Status != mapper.StatusRegistering || got.Email != "" {
		t.Fatalf("invalid registration wrote %+v", got)
	}
	m, err = svc.Register(ctx, m.ID, registration())
	if err != nil || m.Status != mapper.StatusPending || m.LegalName != "Somchai Jaidee" || m.SubmittedAt == nil ||
		m.Expertise.Vocabularies[0] != "ICD10CM" || m.Expertise.Domains[0] != "Condition" || m.YearsExperience != 7 {
		t.Fatalf("registered: %+v %v", m, err)
	}
	if _, err := svc.Register(ctx, m.ID, registration()); !errors.Is(err, mapper.ErrConflict) {
		t.Fatalf("submitting a pending application twice: %v", err)
	}

	// Non-admins decide nothing; reasons are required where shown.
	if _, err := svc.Decide(ctx, "Uline1", m.ID, mapper.ActionApprove, ""); !errors.Is(err, mapper.ErrForbidden) {
		t.Fatalf("mapper approving itself: %v", err)
	}
	if _, err := svc.Decide(ctx, admin, m.ID, mapper.ActionReject, " "); !errors.Is(err, mapper.ErrInvalid) {
		t.Fatalf("rejection without reason: %v", err)
	}
	m, err = svc.Decide(ctx, admin, m.ID, mapper.ActionRequestInfo, "Upload a clearer ID photo")
	if err != nil || m.Status != mapper.StatusInfoRequested || m.StatusReason != "Upload a clearer ID photo" {
		t.Fatalf("info requested: %+v %v", m, err)
	}
	m, err = svc.Register(ctx, m.ID, registration())
	if err != nil || m.Status != mapper.StatusPending || m.StatusReason != "" {
		t.Fatalf("resubmitted: %+v %v", m, err)
	}
	m, err = svc.Decide(ctx, admin, m.ID, mapper.ActionReject, "Credential expired")
	if err != nil || m.Status != mapper.StatusRejected || m.StatusReason != "Credential expired" || m.CanVote() {
		t.Fatalf("rejected: %+v %v", m, err)
	}
	if _, err := svc.Decide(ctx, admin, m.ID, mapper.ActionApprove, ""); !errors.Is(err, mapper.ErrConflict) {
		t.Fatalf("approving a rejected application: %v", err)
	}
	// Reapply, then approve.
	if m, err = svc.Register(ctx, m.ID, registration()); err != nil || m.Status != mapper.StatusPending {
		t.Fatalf("reapplied: %+v %v", m, err)
	}
	m, err = svc.Decide(ctx, admin, m.ID, mapper.ActionApprove, "ignored")
	if err != nil || m.Status != mapper.StatusApproved || m.StatusReason != "" || !m.CanVote() || m.DecidedAt == nil {
		t.Fatalf("approved: %+v %v", m, err)
	}
	if m, err = svc.Decide(ctx, admin, m.ID, mapper.ActionSuspend, "Anomalous votes"); err != nil || m.Status != mapper.StatusSuspended {
		t.Fatalf("suspended: %+v %v", m, err)
	}
	if m, err = svc.Decide(ctx, admin, m.ID, mapper.ActionReinstate, ""); err != nil || m.Status != mapper.StatusApproved {
		t.Fatalf("reinstated: %+v %v", m, err)
	}
	if _, err := svc.SetTerms(ctx, admin, m.ID, "platinum", 100); !errors.Is(err, mapper.ErrInvalid) {
		t.Fatalf("unknown tier: %v", err)
	}
	if _, err := svc.SetTerms(ctx, "Uline1", m.ID, "gold", 150); !errors.Is(err, mapper.ErrForbidden) {
		t.Fatalf("non-admin terms: %v", err)
	}
	if m, err = svc.SetTerms(ctx, admin, m.ID, "gold", 150); err != nil || m.Tier != "gold" || m.RatePercent != 150 {
		t.Fatalf("terms: %+v %v", m, err)
	}
	if err := svc.SetStripeAccount(ctx, m.ID, "acct_123"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Mapper(ctx, m.ID); got.StripeAccountID != "acct_123" {
		t.Fatalf("stripe account %q", got.StripeAccountID)
	}

	// Every admin act is in the audit trail, newest first.
	trail, err := svc.Audit(ctx, admin, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range trail {
		actions = append(actions, a.Action)
		if a.ActorLineID != admin || a.MapperID != m.ID {
			t.Fatalf("audit entry %+v", a)
		}
	}
	want := []string{"set_terms", "reinstate", "suspend", "approve", "reject", "request_info"}
	if len(actions) != len(want) {
		t.Fatalf("audit %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("audit %v, want %v", actions, want)
		}
	}
	if _, err := svc.Audit(ctx, "Uline1", m.ID); !errors.Is(err, mapper.ErrForbidden) {
		t.Fatalf("non-admin audit: %v", err)
	}
	list, err := svc.Applications(ctx, admin, mapper.StatusApproved)
	if err != nil || len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("approved list: %+v %v", list, err)
	}
	if _, err := svc.Applications(ctx, "Uline1"); !errors.Is(err, mapper.ErrForbidden) {
		t.Fatalf("non-admin list: %v", err)
	}
	if _, err := st.Mapper(ctx, "mpr_000000000000000000000000"); !errors.Is(err, mapper.ErrNotFound) {
		t.Fatalf("unknown mapper: %v", err)
	}
}

// A status change that lost a race is a conflict and writes no audit row.
func TestSetStatusIsConditional(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, st, _ := service(t)
	m, _ := svc.SignIn(ctx, "Urace", "R")
	m, _ = svc.Register(ctx, m.ID, registration())
	now := time.Now().UTC()
	if _, err := st.SetStatus(ctx, m.ID, mapper.StatusInfoRequested, mapper.StatusApproved, "", now,
		mapper.AuditEntry{At: now, ActorLineID: admin, Action: "approve"}); !errors.Is(err, mapper.ErrConflict) {
		t.Fatalf("stale from: %v", err)
	}
	if trail, _ := st.Audit(ctx, m.ID); len(trail) != 0 {
		t.Fatalf("conflict audited: %+v", trail)
	}
	// Concurrent decisions: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for _, a := range []mapper.Action{mapper.ActionApprove, mapper.ActionReject, mapper.ActionApprove, mapper.ActionReject} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Decide(ctx, admin, m.ID, a, "r"); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, mapper.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if trail, _ := st.Audit(ctx, m.ID); wins != 1 || len(trail) != 1 {
		t.Fatalf("%d decisions won, %d audited", wins, len(trail))
	}
}

func TestKYCDocuments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	svc, st := f.svc, f.st
	m, _ := svc.SignIn(ctx, "Ukyc", "K")
	other, _ := svc.SignIn(ctx, "Uother", "O")

	if _, err := svc.Upload(ctx, m.ID, mapper.KindGovernmentID, []byte("<html>not a document</html>")); !errors.Is(err, mapper.ErrInvalid) {
		t.Fatalf("html accepted: %v", err)
	}
	if _, err := svc.Upload(ctx, m.ID, mapper.KindGovernmentID, append(pdf, make([]byte, 1<<10)...)); !errors.Is(err, mapper.ErrInvalid) {
		t.Fatalf("oversize accepted: %v", err)
	}
	if _, err := svc.Upload(ctx, m.ID, "selfie", pdf); !errors.Is(err, mapper.ErrInvalid) {
		t.Fatalf("unknown kind accepted: %v", err)
	}
	d, err := svc.Upload(ctx, m.ID, mapper.KindGovernmentID, pdf)
	if err != nil || d.ContentType != "application/pdf" || d.Size != int64(len(pdf)) || d.KeyID != "k1" || d.Sealed != nil {
		t.Fatalf("upload: %+v %v", d, err)
	}
	// Nothing of the plaintext is in the table.
	var sealed []byte
	f.pool.QueryRow(ctx, `select sealed from mapper_documents where id = $1`, d.ID).Scan(&sealed)
	if len(sealed) == 0 || bytes.Contains(sealed, []byte("%PDF")) || bytes.Contains(sealed, []byte("endobj")) {
		t.Fatalf("stored in clear: %q", sealed)
	}
	docs, err := svc.Documents(ctx, m.ID)
	if err != nil || len(docs) != 1 || docs[0].ID != d.ID {
		t.Fatalf("documents: %+v %v", docs, err)
	}
	if docs, _ := svc.Documents(ctx, other.ID); len(docs) != 0 {
		t.Fatalf("another mapper lists %+v", docs)
	}
	// Neither the owner nor another mapper can open it; the refusals read
	// nothing and so audit nothing.
	for _, who := range []string{"Ukyc", "Uother", ""} {
		if _, b, err := svc.ViewDocument(ctx, who, d.ID); !errors.Is(err, mapper.ErrForbidden) || b != nil {
			t.Fatalf("%q opened the document: %v", who, err)
		}
	}
	if trail, _ := st.Audit(ctx, m.ID); len(trail) != 0 {
		t.Fatalf("refusals audited: %+v", trail)
	}
	got, content, err := svc.ViewDocument(ctx, admin, d.ID)
	if err != nil || !bytes.Equal(content, pdf) || got.ContentType != "application/pdf" {
		t.Fatalf("admin view: %+v %v", got, err)
	}
	if _, _, err := svc.ViewDocument(ctx, admin, "doc_000000000000000000000000"); !errors.Is(err, mapper.ErrNotFound) {
		t.Fatalf("unknown document: %v", err)
	}
	trail, _ := st.Audit(ctx, m.ID)
	if len(trail) != 1 || trail[0].Action != mapper.AuditViewDocument || trail[0].DocumentID != d.ID || trail[0].ActorLineID != admin {
		t.Fatalf("view audit: %+v", trail)
	}
	// A sealed blob moved to another mapper's row does not open.
	d2, _ := svc.Upload(ctx, other.ID, mapper.KindGovernmentID, pdf)
	f.pool.Exec(ctx, `update mapper_documents set sealed = $2 where id = $1`, d2.ID, sealed)
	if _, _, err := svc.ViewDocument(ctx, admin, d2.ID); err == nil {
		t.Fatal("a blob swapped between rows opened")
	}
	// Approved mappers upload no more documents.
	svc.Register(ctx, m.ID, registration())
	svc.Decide(ctx, admin, m.ID, mapper.ActionApprove, "")
	if _, err := svc.Upload(ctx, m.ID, mapper.KindProfessionalCredential, pdf); !errors.Is(err, mapper.ErrConflict) {
		t.Fatalf("upload after approval: %v", err)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, sessions := service(t)
	m, _ := svc.SignIn(ctx, "Usess", "S")
	now := time.Now().UTC().Truncate(time.Microsecond)
	token, se := session.Start(m.ID, "", "ua", now, time.Hour)
	if err := sessions.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	got, err := sessions.Session(ctx, session.Hash(token), now.Add(2*time.Minute))
	if err != nil || got.UserID != m.ID || got.CSRFToken != se.CSRFToken || !got.LastSeenAt.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("session: %+v %v", got, err)
	}
	if _, err := sessions.Session(ctx, se.TokenHash, now.Add(time.Hour)); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("expired: %v", err)
	}
	_, unknown := session.Start("mpr_000000000000000000000000", "", "", now, time.Hour)
	if err := sessions.CreateSession(ctx, unknown); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("unknown mapper: %v", err)
	}
	_, second := session.Start(m.ID, "", "", now, time.Hour)
	sessions.CreateSession(ctx, second)
	if n, err := sessions.DeleteUserSessions(ctx, m.ID, se.TokenHash); err != nil || n != 1 {
		t.Fatalf("delete others: %d %v", n, err)
	}
	if err := sessions.DeleteSession(ctx, se.TokenHash); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Session(ctx, se.TokenHash, now); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if err := sessions.SetSessionOrganization(ctx, se.TokenHash, "org"); err == nil {
		t.Fatal("a mapper session took an organization")
	}
}

// Key rotation: a new key first, the old one kept; Reseal moves every
// document to the new key, after which the old key can go.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	m, _ := f.svc.SignIn(ctx, "Urot", "R")
	var docs []mapper.Document
	for range 3 {
		d, err := f.svc.Upload(ctx, m.ID, mapper.KindGovernmentID, pdf)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	k1 := mapper.Key{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}
	k2 := mapper.Key{ID: "k2", Key: bytes.Repeat([]byte{9}, 32)}
	both, _ := mapper.NewSealer([]mapper.Key{k2, k1})
	rotated := mapper.NewService(f.st, both, mapper.NewAdmins([]string{admin}), mapper.Options{})
	if _, b, err := rotated.ViewDocument(ctx, admin, docs[0].ID); err != nil || !bytes.Equal(b, pdf) {
		t.Fatalf("old document under the rotated keys: %v", err)
	}
	n, err := rotated.Reseal(ctx)
	if err != nil || n != 3 {
		t.Fatalf("resealed %d: %v", n, err)
	}
	if n, err := rotated.Reseal(ctx); err != nil || n != 0 {
		t.Fatalf("second reseal %d: %v", n, err)
	}
	onlyNew, _ := mapper.NewSealer([]mapper.Key{k2})
	retired := mapper.NewService(f.st, onlyNew, mapper.NewAdmins([]string{admin}), mapper.Options{})
	for _, d := range docs {
		if _, b, err := retired.ViewDocument(ctx, admin, d.ID); err != nil || !bytes.Equal(b, pdf) {
			t.Fatalf("document %s after retiring k1: %v", d.ID, err)
		}
	}
	// Before the reseal, removing the old key would have been refused by
	// name (not a silent failure).
	d, _ := f.svc.Upload(ctx, m.ID, mapper.KindProfessionalCredential, pdf)
	if _, _, err := retired.ViewDocument(ctx, admin, d.ID); err == nil || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("document under a removed key: %v", err)
	}
}
