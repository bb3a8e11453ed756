// Package pgsync holds the steps the PostgreSQL stores of the SDK's sync
// pushes take alike, whatever the item: keeping the last of each pushed
// identity, reading the stored items by identity, refusing stale
// revisions, and counting what the push created, updated or left alone.
// Each store keeps its SQL, its identity and its error messages; the
// functions here know no table. They are pure (CollectByKey aside, which
// reads rows) and safe for concurrent use.
package pgsync

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Distinct returns items with one item per key: the last pushed, at the
// position where its key first appeared. items is not modified.
func Distinct[T any, K comparable](items []T, keyOf func(T) K) []T {
	at := make(map[K]int, len(items))
	out := make([]T, 0, len(items))
	for _, it := range items {
		k := keyOf(it)
		if j, ok := at[k]; ok {
			out[j] = it
			continue
		}
		at[k] = len(out)
		out = append(out, it)
	}
	return out
}

// CollectByKey scans every row of rows with scan and returns the items by
// key (a later row of the same key replaces an earlier one). It closes
// rows; the error is scan's or rows'.
func CollectByKey[T any, K comparable](rows pgx.Rows, scan func(pgx.Row) (T, error), keyOf func(T) K) (map[K]T, error) {
	defer rows.Close()
	out := map[K]T{}
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out[keyOf(it)] = it
	}
	return out, rows.Err()
}

// Stale is a pushed item whose revision is not the stored one.
type Stale[T any] struct {
	Item T
	// Revision is the pushed revision; Stored the stored item's, when
	// Exists.
	Revision, Stored int
	Exists           bool
}

// StaleRevisions returns the pushed items that carry a revision (not 0)
// other than that of the stored item of their key, or that carry one
// while no item of their key is stored; in push order.
func StaleRevisions[T any, K comparable](pushed []T, stored map[K]T, keyOf func(T) K, revisionOf func(T) int) []Stale[T] {
	var out []Stale[T]
	for _, it := range pushed {
		rev := revisionOf(it)
		if rev == 0 {
			continue
		}
		cur, ok := stored[keyOf(it)]
		switch {
		case !ok:
			out = append(out, Stale[T]{Item: it, Revision: rev})
		case revisionOf(cur) != rev:
			out = append(out, Stale[T]{Item: it, Revision: rev, Stored: revisionOf(cur), Exists: true})
		}
	}
	return out
}

// maxNamed is how many stale items a conflict names; the rest are counted.
const maxNamed = 5

// Conflict returns nil when stale is empty, and otherwise an error
// wrapping conflict (the store's ErrConflict) that names the first five
// stale items with describe, joined by sep, counts the others, and says
// that nothing of the push was written.
func Conflict[T any](conflict error, stale []Stale[T], describe func(Stale[T]) string, sep string) error {
	if len(stale) == 0 {
		return nil
	}
	more := ""
	if len(stale) > maxNamed {
		more = fmt.Sprintf(" and %d more", len(stale)-maxNamed)
		stale = stale[:maxNamed]
	}
	named := make([]string, len(stale))
	for i, s := range stale {
		named[i] = describe(s)
	}
	return fmt.Errorf("%w: %s%s; nothing of this push was written", conflict, strings.Join(named, sep), more)
}

// Outcome is what a push did: how many items it created, updated and left
// unchanged, and each pushed item as now stored, in push order.
type Outcome[T any] struct {
	Created, Updated, Unchanged int
	Items                       []T
}

// Tally counts what a push did. pushed are the distinct pushed items,
// stored the items of their keys before the push, changed the items the
// push created or changed as the database returned them.
func Tally[T any, K comparable](pushed []T, stored map[K]T, changed []T, keyOf func(T) K) Outcome[T] {
	now := make(map[K]T, len(changed))
	for _, it := range changed {
		now[keyOf(it)] = it
	}
	out := Outcome[T]{Items: make([]T, 0, len(pushed))}
	for _, it := range pushed {
		k := keyOf(it)
		c, isChanged := now[k]
		_, existed := stored[k]
		switch {
		case isChanged && existed:
			out.Updated++
		case isChanged:
			out.Created++
		default:
			out.Unchanged++
			c = stored[k]
		}
		out.Items = append(out.Items, c)
	}
	return out
}
