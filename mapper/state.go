package mapper

import "fmt"

// Action is what moves an application from one state to another.
type Action string

// The actions. Submit is the mapper's; the others an admin's.
const (
	ActionSubmit      Action = "submit"       // registering, rejected (reapply), info_requested → pending
	ActionApprove     Action = "approve"      // pending, info_requested → approved
	ActionReject      Action = "reject"       // pending, info_requested → rejected (reason)
	ActionRequestInfo Action = "request_info" // pending → info_requested (reason)
	ActionSuspend     Action = "suspend"      // approved → suspended (reason)
	ActionReinstate   Action = "reinstate"    // suspended → approved
)

// transitions is the state machine: for each action, the states it leaves
// from and the state it reaches.
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	ActionSubmit:      {[]Status{StatusRegistering, StatusRejected, StatusInfoRequested}, StatusPending},
	ActionApprove:     {[]Status{StatusPending, StatusInfoRequested}, StatusApproved},
	ActionReject:      {[]Status{StatusPending, StatusInfoRequested}, StatusRejected},
	ActionRequestInfo: {[]Status{StatusPending}, StatusInfoRequested},
	ActionSuspend:     {[]Status{StatusApproved}, StatusSuspended},
	ActionReinstate:   {[]Status{StatusSuspended}, StatusApproved},
}

// NeedsReason reports whether a takes a reason the mapper is shown.
func (a Action) NeedsReason() bool {
	return a == ActionReject || a == ActionRequestInfo || a == ActionSuspend
}

// Next returns the state action a moves an application in state from to,
// or an error wrapping ErrConflict when a is not allowed from there (or
// ErrInvalid for an unknown action).
func Next(from Status, a Action) (Status, error) {
	t, ok := transitions[a]
	if !ok {
		return "", fmt.Errorf("%w: unknown action %q", ErrInvalid, a)
	}
	for _, f := range t.from {
		if f == from {
			return t.to, nil
		}
	}
	return "", fmt.Errorf("%w: cannot %s an application that is %s", ErrConflict, a, from)
}
