package mapper

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Admins is the set of LINE user ids that administer the mapper platform
// (ADMIN_LINE_USER_IDS).
type Admins map[string]bool

// NewAdmins returns the set of ids (blank ones dropped).
func NewAdmins(ids []string) Admins {
	a := Admins{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			a[id] = true
		}
	}
	return a
}

// Is reports whether lineUserID is an admin.
func (a Admins) Is(lineUserID string) bool { return lineUserID != "" && a[lineUserID] }

// Service is the mapper rules over a Store: sign-in, registration, KYC
// uploads and the admin's decisions. It is safe for concurrent use.
type Service struct {
	store  Store
	sealer *Sealer
	admins Admins
	// maxDocument bounds a KYC document in bytes.
	maxDocument int64
	now         func() time.Time
}

// Options are a Service's settings beyond its store.
type Options struct {
	// MaxDocumentBytes bounds a KYC document (default
	// DefaultMaxDocumentBytes).
	MaxDocumentBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewService returns the rules over store; sealer encrypts KYC documents;
// admins decide applications.
func NewService(store Store, sealer *Sealer, admins Admins, o Options) *Service {
	if o.MaxDocumentBytes <= 0 {
		o.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{store: store, sealer: sealer, admins: admins, maxDocument: o.MaxDocumentBytes, now: o.Now}
}

// MaxDocumentBytes is the size limit of a KYC document.
func (s *Service) MaxDocumentBytes() int64 { return s.maxDocument }

// IsAdmin reports whether the LINE user administers the platform.
func (s *Service) IsAdmin(lineUserID string) bool { return s.admins.Is(lineUserID) }

// NewID returns a random id with prefix ("mpr_", "doc_").
func NewID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// SignIn returns the mapper of a verified LINE user, creating one in
// StatusRegistering on first sign-in. A changed LINE display name is not
// written back (the leaderboard keeps the registered one).
func (s *Service) SignIn(ctx context.Context, lineUserID, displayName string) (Mapper, error) {
	if lineUserID == "" {
		return Mapper{}, fmt.Errorf("%w: no LINE user id", ErrInvalid)
	}
	m, err := s.store.MapperByLineUser(ctx, lineUserID)
	if !errors.Is(err, ErrNotFound) {
		return m, err
	}
	displayName = strings.TrimSpace(displayName)
	if displayName == "" || utf8.RuneCountInString(displayName) > MaxNameLength {
		displayName = "Mapper " + lineUserID[max(0, len(lineUserID)-4):]
	}
	now := s.now().UTC()
	m = Mapper{ID: NewID("mpr_"), LineUserID: lineUserID, DisplayName: displayName, Status: StatusRegistering,
		RatePercent: 100, CreatedAt: now, UpdatedAt: now}
	err = s.store.Create(ctx, m)
	if errors.Is(err, ErrConflict) {
		// Two first sign-ins raced; the other created the row.
		return s.store.MapperByLineUser(ctx, lineUserID)
	}
	return m, err
}

// Mapper returns mapper id.
func (s *Service) Mapper(ctx context.Context, id string) (Mapper, error) {
	return s.store.Mapper(ctx, id)
}

// Register submits (or resubmits, after a rejection or a request for
// information) mapper id's profile; it becomes pending. Invalid input is
// FieldErrors and nothing is written; a state that cannot submit is
// ErrConflict.
func (s *Service) Register(ctx context.Context, id string, r Registration) (Mapper, error) {
	r = r.Normalize()
	if err := r.Validate(); err != nil {
		return Mapper{}, err
	}
	m, err := s.store.Mapper(ctx, id)
	if err != nil {
		return Mapper{}, err
	}
	if _, err := Next(m.Status, ActionSubmit); err != nil {
		return Mapper{}, err
	}
	return s.store.SaveRegistration(ctx, id, m.Status, r, s.now().UTC())
}

// Decide applies an admin's action to mapper id: approve, reject or
// request information (reason required for the last two), suspend
// (reason) or reinstate. A non-admin is ErrForbidden; an action not
// allowed from the current state ErrConflict. The audit entry is written
// with the change.
func (s *Service) Decide(ctx context.Context, adminLineID, id string, a Action, reason string) (Mapper, error) {
	if !s.admins.Is(adminLineID) {
		return Mapper{}, fmt.Errorf("%w: only admins decide applications", ErrForbidden)
	}
	if a == ActionSubmit {
		return Mapper{}, fmt.Errorf("%w: submit is the mapper's action", ErrInvalid)
	}
	reason = strings.TrimSpace(reason)
	if a.NeedsReason() && reason == "" {
		return Mapper{}, FieldErrors{{"reason", "Give the mapper a reason; they will see it."}}
	}
	if utf8.RuneCountInString(reason) > MaxReasonLength {
		return Mapper{}, FieldErrors{{"reason", "The reason can have at most " + itoa(MaxReasonLength) + " characters."}}
	}
	if !a.NeedsReason() {
		reason = ""
	}
	m, err := s.store.Mapper(ctx, id)
	if err != nil {
		return Mapper{}, err
	}
	to, err := Next(m.Status, a)
	if err != nil {
		return Mapper{}, err
	}
	now := s.now().UTC()
	return s.store.SetStatus(ctx, id, m.Status, to, reason, now,
		AuditEntry{At: now, ActorLineID: adminLineID, Action: string(a), MapperID: id, Detail: reason})
}

// Tiers an admin may set; "" leaves the tier to reputation.
var Tiers = []string{"", "bronze", "silver", "gold", "expert"}

// SetTerms sets mapper id's tier override and reward rate (percent of the
// standard, 0 to 300). Admins only; audited.
func (s *Service) SetTerms(ctx context.Context, adminLineID, id, tier string, ratePercent int) (Mapper, error) {
	if !s.admins.Is(adminLineID) {
		return Mapper{}, fmt.Errorf("%w: only admins set tiers and rates", ErrForbidden)
	}
	var fe FieldErrors
	okTier := false
	for _, t := range Tiers {
		okTier = okTier || t == tier
	}
	if !okTier {
		fe = append(fe, FieldError{"tier", "Choose a tier: bronze, silver, gold, expert, or automatic."})
	}
	if ratePercent < 0 || ratePercent > 300 {
		fe = append(fe, FieldError{"rate_percent", "The rate is a percentage of the standard rate from 0 to 300."})
	}
	if len(fe) > 0 {
		return Mapper{}, fe
	}
	now := s.now().UTC()
	return s.store.SetTerms(ctx, id, tier, ratePercent, now, AuditEntry{At: now, ActorLineID: adminLineID,
		Action: AuditSetTerms, MapperID: id, Detail: fmt.Sprintf("tier=%q rate=%d%%", tier, ratePercent)})
}

// SetStripeAccount records mapper id's Stripe Connect account.
func (s *Service) SetStripeAccount(ctx context.Context, id, accountID string) error {
	return s.store.SetStripeAccount(ctx, id, accountID, s.now().UTC())
}

// Upload stores a KYC document of mapper id: its type sniffed from the
// content (JPEG, PNG, WebP, PDF), at most MaxDocumentBytes, sealed with the
// current key. The mapper must not be approved or suspended (documents
// belong to an application under review).
func (s *Service) Upload(ctx context.Context, id string, kind DocumentKind, content []byte) (Document, error) {
	if !kind.Valid() {
		return Document{}, FieldErrors{{"kind", "Choose what the document is: a government-issued ID or a professional credential."}}
	}
	if int64(len(content)) > s.maxDocument {
		return Document{}, FieldErrors{{"document", fmt.Sprintf("The file is larger than %d MiB.", s.maxDocument>>20)}}
	}
	ct, err := SniffDocument(content)
	if err != nil {
		return Document{}, FieldErrors{{"document", strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")}}
	}
	m, err := s.store.Mapper(ctx, id)
	if err != nil {
		return Document{}, err
	}
	if m.Status == StatusApproved || m.Status == StatusSuspended {
		return Document{}, fmt.Errorf("%w: documents are uploaded with an application, not after approval", ErrConflict)
	}
	d := Document{ID: NewID("doc_"), MapperID: id, Kind: kind, ContentType: ct, Size: int64(len(content)), UploadedAt: s.now().UTC()}
	d.KeyID, d.Sealed = s.sealer.Seal(content, documentAAD(d))
	if err := s.store.AddDocument(ctx, d); err != nil {
		return Document{}, err
	}
	d.Sealed = nil
	return d, nil
}

// Documents lists mapper id's KYC documents (metadata only: the mapper sees
// what they uploaded, not the content back).
func (s *Service) Documents(ctx context.Context, id string) ([]Document, error) {
	return s.store.Documents(ctx, id)
}

// ViewDocument returns KYC document docID decrypted, for an admin only; the
// view is audited in the transaction that reads it. Anyone else is
// ErrForbidden and reads nothing — including the document's owner.
func (s *Service) ViewDocument(ctx context.Context, adminLineID, docID string) (Document, []byte, error) {
	if !s.admins.Is(adminLineID) {
		return Document{}, nil, fmt.Errorf("%w: KYC documents are shown to admins only", ErrForbidden)
	}
	d, err := s.store.Document(ctx, docID, AuditEntry{At: s.now().UTC(), ActorLineID: adminLineID,
		Action: AuditViewDocument, DocumentID: docID})
	if err != nil {
		return Document{}, nil, err
	}
	pt, err := s.sealer.Open(d.KeyID, d.Sealed, documentAAD(d))
	if err != nil {
		return Document{}, nil, err
	}
	d.Sealed = nil
	return d, pt, nil
}

// Applications lists mappers in the given states (all when none) for
// admins.
func (s *Service) Applications(ctx context.Context, adminLineID string, states ...Status) ([]Mapper, error) {
	if !s.admins.Is(adminLineID) {
		return nil, fmt.Errorf("%w: only admins list applications", ErrForbidden)
	}
	return s.store.Mappers(ctx, states...)
}

// Audit lists the audit trail about mapper id, for admins.
func (s *Service) Audit(ctx context.Context, adminLineID, id string) ([]AuditEntry, error) {
	if !s.admins.Is(adminLineID) {
		return nil, fmt.Errorf("%w: only admins read the audit trail", ErrForbidden)
	}
	return s.store.Audit(ctx, id)
}

// Reseal re-encrypts every KYC document not sealed with the current key,
// so an old key can then be removed from MAPPER_KYC_KEYS (docs/mapper.md).
// It is safe to run while the app serves and to run again after an
// interruption; it returns how many documents it resealed.
func (s *Service) Reseal(ctx context.Context) (int, error) {
	n := 0
	for {
		docs, err := s.store.SealedWithout(ctx, s.sealer.Current(), 100)
		if err != nil {
			return n, err
		}
		if len(docs) == 0 {
			return n, nil
		}
		progressed := false
		for _, d := range docs {
			pt, err := s.sealer.Open(d.KeyID, d.Sealed, documentAAD(d))
			if err != nil {
				return n, fmt.Errorf("mapper: reseal document %s: %w", d.ID, err)
			}
			kid, sealed := s.sealer.Seal(pt, documentAAD(d))
			ok, err := s.store.Reseal(ctx, d.ID, d.KeyID, kid, sealed)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
			progressed = true
		}
		if !progressed {
			return n, nil
		}
	}
}
