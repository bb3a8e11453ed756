package mapper_test

import (
	"bytes"
	"fmt"

	"github.com/portiere/portiere/mapper"
)

// The application's state machine: what each admin action does from
// pending, and what it refuses.
func ExampleNext() {
	for _, a := range []mapper.Action{mapper.ActionApprove, mapper.ActionRequestInfo, mapper.ActionSuspend} {
		to, err := mapper.Next(mapper.StatusPending, a)
		fmt.Println(a, "→", to, err)
	}
	// Output:
	// approve → approved <nil>
	// request_info → info_requested <nil>
	// suspend →  mapper: conflict: cannot suspend an application that is pending
}

// Key rotation: a new key seals, the old one still opens what it sealed.
func ExampleSealer() {
	old, _ := mapper.NewSealer([]mapper.Key{{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}})
	kid, sealed := old.Seal([]byte("passport scan"), []byte("doc_1|mpr_1|government_id"))

	rotated, _ := mapper.NewSealer([]mapper.Key{{ID: "k2", Key: bytes.Repeat([]byte{2}, 32)}, {ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}})
	pt, err := rotated.Open(kid, sealed, []byte("doc_1|mpr_1|government_id"))
	fmt.Println(kid, string(pt), err, rotated.Current())
	// Output: k1 passport scan <nil> k2
}
