package mapper

import "time"

// AuditEntry records one admin act on a mapper: a decision, a change of
// terms, or a view of a KYC document. Entries are only ever added.
type AuditEntry struct {
	ID          int64
	At          time.Time
	ActorLineID string // the admin's LINE user id
	Action      string // an Action, "set_terms" or "view_document"
	MapperID    string
	DocumentID  string // for view_document
	Detail      string // the reason, the new terms
}

// Audit actions that are not state transitions.
const (
	AuditViewDocument = "view_document"
	AuditSetTerms     = "set_terms"
)
