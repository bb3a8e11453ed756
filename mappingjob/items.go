package mappingjob

import "context"

// ItemFilter selects a project's items for the results API. Zero fields
// select everything.
type ItemFilter struct {
	Reviews []ReviewStatus // the review decision is one of these (pending includes ReviewUnset)
	Methods []Method
	// MinConfidence and MaxConfidence bound the confidence, inclusive.
	MinConfidence, MaxConfidence *float64
	Domain                       string // the target's domain, case-insensitive
	Vocabulary                   string // the target's vocabulary, case-insensitive
	// Text is found, case-insensitive, in the source code or description.
	Text string
}

// ItemLister pages through a project's items. Implementations are safe
// for concurrent use.
type ItemLister interface {
	// ListItems returns up to limit of project's items matching f with
	// ID > after, in ID order (keyset pagination: pass the last ID seen).
	ListItems(ctx context.Context, project string, f ItemFilter, after int64, limit int) ([]Item, error)
}

// SyncActor is who pushed items: Actor is recorded in review_events (a
// user id, an API key id or "operator"); UserID, when set, becomes
// DecidedBy of the items whose decision the push changed.
type SyncActor struct {
	Actor  string
	UserID string
}

// SyncResult tallies a push.
type SyncResult struct {
	Created, Updated, Unchanged int
}

// Syncer applies the Portiere SDK's pushes of concept items. An item's
// identity is (project, SourceColumn, Code). Implementations are safe for
// concurrent use.
type Syncer interface {
	// SyncItems writes items to project in one transaction: an item whose
	// identity is new is created (its Source is SyncSource(SourceColumn)),
	// one that differs from the stored item in any of the SDK's fields
	// replaces them and its revision grows, an identical one is left as it
	// is, so pushing the same items twice changes nothing. Every item
	// created or changed gets a "sync" row in review_events. An item whose
	// Revision is not 0 and not the stored one fails the whole push with
	// ErrConflict naming it; nothing is written then. An unknown project
	// is ErrNotFound.
	SyncItems(ctx context.Context, project string, by SyncActor, items []Item) (SyncResult, error)
}

// SyncSource is the Source of an item an SDK push created: the SDK knows
// no sources, only columns.
func SyncSource(column string) string { return "sync:" + column }
