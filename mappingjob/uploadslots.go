package mappingjob

import (
	"errors"
	"fmt"
	"sync"
)

// DefaultMaxConcurrentUploads is how many source uploads one organization
// may have in progress at once in one process when UploadSlots.Max is 0.
// An upload holds a connection, a parse and, at the end, one transaction
// writing every code: a handful per organization keeps one tenant from
// taking every database connection while others wait.
const DefaultMaxConcurrentUploads = 2

// ErrTooManyUploads is wrapped by *TooManyUploadsError.
var ErrTooManyUploads = errors.New("mappingjob: too many uploads in progress")

// TooManyUploadsError says an organization already has Limit uploads in
// progress.
type TooManyUploadsError struct {
	Limit int
}

func (e *TooManyUploadsError) Error() string {
	return fmt.Sprintf("mappingjob: the organization already has %d uploads in progress, the limit of concurrent uploads per organization; retry when one has finished", e.Limit)
}

func (e *TooManyUploadsError) Unwrap() error { return ErrTooManyUploads }

// UploadSlots bounds the source uploads each organization has in progress
// at once. The count is per process (per API replica; the API and the
// dashboard share one when composed together): it bounds the work one
// replica takes on for a tenant, not a cluster-wide total. The zero value
// is ready to use; it is safe for concurrent use and must not be copied.
type UploadSlots struct {
	// Max is the limit per organization; 0 means
	// DefaultMaxConcurrentUploads.
	Max int

	mu   sync.Mutex
	busy map[string]int
}

// Acquire takes one of org's slots. It returns release, which gives the
// slot back (call it once, when the upload has been stored or refused), or
// a *TooManyUploadsError when org's slots are all taken.
func (s *UploadSlots) Acquire(org string) (release func(), err error) {
	limit := s.Max
	if limit <= 0 {
		limit = DefaultMaxConcurrentUploads
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[org] >= limit {
		return nil, &TooManyUploadsError{Limit: limit}
	}
	if s.busy == nil {
		s.busy = map[string]int{}
	}
	s.busy[org]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.busy[org]--; s.busy[org] <= 0 {
				delete(s.busy, org)
			}
		})
	}, nil
}
