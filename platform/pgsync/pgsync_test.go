package pgsync

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

type item struct {
	key string
	rev int
	val string
}

func keyOf(it item) string { return it.key }
func revOf(it item) int    { return it.rev }

func TestDistinctKeepsTheLastAtTheFirstPosition(t *testing.T) {
	got := Distinct([]item{{key: "a", val: "1"}, {key: "b"}, {key: "a", val: "2"}}, keyOf)
	want := []item{{key: "a", val: "2"}, {key: "b"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Distinct = %v, want %v", got, want)
	}
}

func TestConflictNamesFiveAndCountsTheRest(t *testing.T) {
	errConflict := errors.New("conflict")
	stored := map[string]item{}
	var pushed []item
	for i := range 7 {
		k := fmt.Sprint(i)
		stored[k] = item{key: k, rev: 2}
		pushed = append(pushed, item{key: k, rev: 1})
	}
	pushed = append(pushed, item{key: "new", rev: 3}, item{key: "0", rev: 0})
	stale := StaleRevisions(pushed, stored, keyOf, revOf)
	if len(stale) != 8 || stale[7].Exists || !stale[0].Exists || stale[0].Stored != 2 || stale[0].Revision != 1 {
		t.Fatalf("StaleRevisions = %+v", stale)
	}
	describe := func(s Stale[item]) string { return fmt.Sprintf("%s@%d/%d", s.Item.key, s.Revision, s.Stored) }
	err := Conflict(errConflict, stale, describe, ", ")
	want := "conflict: 0@1/2, 1@1/2, 2@1/2, 3@1/2, 4@1/2 and 3 more; nothing of this push was written"
	if !errors.Is(err, errConflict) || err.Error() != want {
		t.Fatalf("Conflict = %v, want %q", err, want)
	}
	if err := Conflict(errConflict, nil, describe, ", "); err != nil {
		t.Fatalf("Conflict of none = %v", err)
	}
}

func TestTallyCountsAndReturnsTheStoredItems(t *testing.T) {
	stored := map[string]item{"old": {key: "old", rev: 1, val: "x"}, "same": {key: "same", rev: 4}}
	pushed := []item{{key: "new"}, {key: "old", val: "y"}, {key: "same"}}
	changed := []item{{key: "old", rev: 2, val: "y"}, {key: "new", rev: 1}}
	got := Tally(pushed, stored, changed, keyOf)
	want := Outcome[item]{Created: 1, Updated: 1, Unchanged: 1,
		Items: []item{{key: "new", rev: 1}, {key: "old", rev: 2, val: "y"}, {key: "same", rev: 4}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tally = %+v, want %+v", got, want)
	}
}
