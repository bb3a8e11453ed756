// Package mapper is Portiere Mapper's identity side: the mapper profile a
// LINE user registers, the application's state machine (pending, approved,
// rejected, more information requested, suspended), the KYC documents
// (sniffed, size-limited, encrypted at rest, viewed by admins only and
// audited) and the admin audit trail. It owns the model, the storage
// interface (Store) and the sentinel errors; the PostgreSQL store is
// mapperstore.
//
// Voting, reputation, rewards and payouts are package crowd's; it reads a
// mapper's Status, Expertise, Tier and RatePercent from here.
package mapper

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Store and Service errors wrap one of them.
var (
	// ErrNotFound: no such mapper or document.
	ErrNotFound = errors.New("mapper: not found")
	// ErrInvalid: the input breaks a rule (a *FieldErrors says which).
	ErrInvalid = errors.New("mapper: invalid")
	// ErrConflict: the transition is not allowed from the current state,
	// or the LINE user is registered already.
	ErrConflict = errors.New("mapper: conflict")
	// ErrForbidden: the actor may not do this (a non-admin viewing a KYC
	// document, a mapper acting on another's application).
	ErrForbidden = errors.New("mapper: forbidden")
)

// Status is where a mapper's application stands. Only StatusApproved
// reaches tasks.
type Status string

// The states of an application.
const (
	// StatusRegistering: signed in with LINE, registration not submitted.
	StatusRegistering Status = "registering"
	// StatusPending: submitted, waiting for an admin.
	StatusPending Status = "pending"
	// StatusApproved: may vote and be paid.
	StatusApproved Status = "approved"
	// StatusRejected: refused with a reason; the mapper may reapply.
	StatusRejected Status = "rejected"
	// StatusInfoRequested: an admin asked for more (the reason says what);
	// resubmitting makes it pending again.
	StatusInfoRequested Status = "info_requested"
	// StatusSuspended: was approved, stopped by an admin (with a reason).
	StatusSuspended Status = "suspended"
)

// Valid reports whether s is one of the states.
func (s Status) Valid() bool {
	switch s {
	case StatusRegistering, StatusPending, StatusApproved, StatusRejected, StatusInfoRequested, StatusSuspended:
		return true
	}
	return false
}

// Expertise is what a mapper declares: vocabularies (e.g. SNOMED,
// ICD10CM, RxNorm, LOINC) and clinical domains (e.g. Condition, Drug,
// Measurement). The task feed matches on it.
type Expertise struct {
	Vocabularies []string
	Domains      []string
}

// Mapper is one crowd reviewer, identified by their LINE user id.
type Mapper struct {
	ID              string // "mpr_" + random hex; primary key of table mappers
	LineUserID      string
	DisplayName     string // the LINE profile's name, shown on the leaderboard
	LegalName       string
	Email           string
	Title           string // professional title
	Affiliation     string
	Expertise       Expertise
	YearsExperience int
	Status          Status
	// StatusReason is the admin's reason for rejected, info_requested and
	// suspended; "" otherwise.
	StatusReason string
	// StripeAccountID is the Stripe Connect Express account, "" until
	// onboarding starts. Bank details are never stored here.
	StripeAccountID string
	// Tier is the admin's tier override; "" means the tier follows
	// reputation (package crowd).
	Tier string
	// RatePercent scales the mapper's rewards (100 = the standard rate).
	RatePercent int
	SubmittedAt *time.Time
	DecidedAt   *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CanVote reports whether m may reach tasks: approved only.
func (m Mapper) CanVote() bool { return m.Status == StatusApproved }

// Registration is the profile form a mapper submits (and resubmits after a
// rejection or a request for information).
type Registration struct {
	LegalName       string
	Email           string
	Title           string
	Affiliation     string
	Expertise       Expertise
	YearsExperience int
}

// FieldError names one field and what is wrong with it, in words a form
// can show.
type FieldError struct {
	Field   string
	Message string
}

// FieldErrors is every problem of one input. It wraps ErrInvalid.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	var b strings.Builder
	b.WriteString("mapper: invalid: ")
	for i, e := range fe {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Field + ": " + e.Message)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (fe FieldErrors) Unwrap() error { return ErrInvalid }

// Of returns the message for field, "" when it is fine.
func (fe FieldErrors) Of(field string) string {
	for _, e := range fe {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// Limits of the registration form.
const (
	MaxNameLength      = 200
	MaxEmailLength     = 320
	MaxExpertiseItems  = 30
	MaxExpertiseLength = 60
	MaxYearsExperience = 70
	MaxReasonLength    = 2000
)

// Normalize trims the text fields and the expertise lists (dropping empty
// and duplicate entries, keeping order).
func (r Registration) Normalize() Registration {
	r.LegalName = strings.TrimSpace(r.LegalName)
	r.Email = strings.TrimSpace(r.Email)
	r.Title = strings.TrimSpace(r.Title)
	r.Affiliation = strings.TrimSpace(r.Affiliation)
	r.Expertise.Vocabularies = cleanList(r.Expertise.Vocabularies)
	r.Expertise.Domains = cleanList(r.Expertise.Domains)
	return r
}

func cleanList(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[strings.ToLower(s)] {
			continue
		}
		seen[strings.ToLower(s)] = true
		out = append(out, s)
	}
	return out
}

// Validate checks a normalized registration and returns every problem as
// FieldErrors (nil when it is fine).
func (r Registration) Validate() error {
	var fe FieldErrors
	text := func(field, label, v string, max int) {
		switch {
		case v == "":
			fe = append(fe, FieldError{field, "Enter your " + label + "."})
		case utf8.RuneCountInString(v) > max:
			fe = append(fe, FieldError{field, "Your " + label + " can have at most " + itoa(max) + " characters."})
		case strings.ContainsRune(v, 0) || strings.ContainsAny(v, "\r\n"):
			fe = append(fe, FieldError{field, "Your " + label + " must be a single line of text."})
		}
	}
	text("legal_name", "full legal name", r.LegalName, MaxNameLength)
	text("title", "professional title", r.Title, MaxNameLength)
	text("affiliation", "affiliation", r.Affiliation, MaxNameLength)
	if a, err := mail.ParseAddress(r.Email); r.Email == "" || err != nil || a.Address != r.Email || len(r.Email) > MaxEmailLength {
		fe = append(fe, FieldError{"email", "Enter a valid email address, like name@example.org."})
	}
	if len(r.Expertise.Vocabularies) == 0 && len(r.Expertise.Domains) == 0 {
		fe = append(fe, FieldError{"expertise", "Choose at least one vocabulary or domain you know."})
	}
	if n := len(r.Expertise.Vocabularies) + len(r.Expertise.Domains); n > MaxExpertiseItems {
		fe = append(fe, FieldError{"expertise", "Choose at most " + itoa(MaxExpertiseItems) + " vocabularies and domains."})
	}
	for _, s := range append(append([]string{}, r.Expertise.Vocabularies...), r.Expertise.Domains...) {
		if utf8.RuneCountInString(s) > MaxExpertiseLength || strings.ContainsAny(s, "\x00\r\n") {
			fe = append(fe, FieldError{"expertise", "Each area of expertise is one line of at most " + itoa(MaxExpertiseLength) + " characters."})
			break
		}
	}
	if r.YearsExperience < 0 || r.YearsExperience > MaxYearsExperience {
		fe = append(fe, FieldError{"years_experience", "Enter your years of experience as a whole number from 0 to " + itoa(MaxYearsExperience) + "."})
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// Store keeps mappers, their KYC documents and the admin audit trail.
// Implementations are safe for concurrent use.
type Store interface {
	// Create stores a new mapper (ID and timestamps set by the caller, as
	// New does). A LINE user registered already is ErrConflict.
	Create(ctx context.Context, m Mapper) error
	// Mapper returns the mapper id, or ErrNotFound.
	Mapper(ctx context.Context, id string) (Mapper, error)
	// MapperByLineUser returns the mapper signed in as lineUserID, or
	// ErrNotFound.
	MapperByLineUser(ctx context.Context, lineUserID string) (Mapper, error)
	// Mappers lists mappers in the given states (all when none), oldest
	// submission first.
	Mappers(ctx context.Context, states ...Status) ([]Mapper, error)
	// SaveRegistration writes the profile and moves the mapper to
	// StatusPending when its status is still from; else ErrConflict
	// (another request moved it first).
	SaveRegistration(ctx context.Context, id string, from Status, r Registration, at time.Time) (Mapper, error)
	// SetStatus moves mapper id from status from to to with reason, and
	// writes the audit entry a in the same transaction; ErrConflict when
	// the status is no longer from.
	SetStatus(ctx context.Context, id string, from, to Status, reason string, at time.Time, a AuditEntry) (Mapper, error)
	// SetTerms sets the tier override and rate, with the audit entry.
	SetTerms(ctx context.Context, id, tier string, ratePercent int, at time.Time, a AuditEntry) (Mapper, error)
	// SetStripeAccount records the mapper's Stripe Connect account id.
	SetStripeAccount(ctx context.Context, id, accountID string, at time.Time) error

	// AddDocument stores a sealed KYC document.
	AddDocument(ctx context.Context, d Document) error
	// Documents lists mapper id's documents (metadata only).
	Documents(ctx context.Context, mapperID string) ([]Document, error)
	// Document returns one document with its sealed bytes, and writes
	// the audit entry a in the same transaction: a read is never
	// unaudited. ErrNotFound when absent.
	Document(ctx context.Context, id string, a AuditEntry) (Document, error)
	// SealedWithout returns up to limit documents (with their sealed
	// bytes) not sealed with key keyID, for resealing.
	SealedWithout(ctx context.Context, keyID string, limit int) ([]Document, error)
	// Reseal replaces document id's sealed bytes and key when it is still
	// sealed with oldKeyID (false when another process resealed it first).
	Reseal(ctx context.Context, id, oldKeyID, newKeyID string, sealed []byte) (bool, error)
	// Audit lists the audit entries about mapper id, newest first.
	Audit(ctx context.Context, mapperID string) ([]AuditEntry, error)
}
