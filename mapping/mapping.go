// Package mapping turns source terms (a hospital's local codes and their
// descriptions) into ranked standard-concept candidates with a confidence
// and a routing status, and reads and writes the CSV files of
// `portiere map`.
package mapping

import (
	"context"
	"runtime"
	"strings"
	"sync"

	"github.com/portiere/portiere/search"
)

// SourceTerm is one term to map. Vocabularies and Domains, when set,
// restrict this term's search on top of the run's filter.
type SourceTerm struct {
	Line         int // 1-based line in the input file, for messages
	Code         string
	Description  string
	Vocabularies []string
	Domains      []string
	// Context is what the term's row says besides its text (specimen,
	// unit, category); the engine reads it as hints, never as filters.
	Context search.Context
}

// Mapping is the outcome for one source term.
type Mapping struct {
	Term       SourceTerm
	Candidates []search.Candidate
	Confidence float64
	Status     search.Route
	Err        error // the term could not be searched (e.g. empty description)
}

// Options configure Map.
type Options struct {
	TopK    int
	Filter  search.Filter
	Workers int // 0 means GOMAXPROCS
	// Thresholds, when not zero, route each term with these auto and
	// review thresholds (a zero field takes its default) instead of the
	// engine's own.
	Thresholds search.Thresholds
	// Progress, when set, is called from time to time with the number of
	// terms mapped so far; calls never overlap.
	Progress func(done, total int)
}

// Map searches every term with e and returns the mappings in input order.
// Terms are searched concurrently; a term that fails gets Err set and the
// rest continue.
func Map(ctx context.Context, e *search.Engine, terms []SourceTerm, opts Options) []Mapping {
	if opts.TopK <= 0 {
		opts.TopK = 10
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]Mapping, len(terms))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = MapOne(ctx, e, terms[i], opts)
				if opts.Progress != nil {
					mu.Lock()
					done++
					opts.Progress(done, len(terms))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range terms {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// MapOne searches one term.
func MapOne(ctx context.Context, e *search.Engine, t SourceTerm, opts Options) Mapping {
	f := opts.Filter
	if len(t.Vocabularies) > 0 {
		f.Vocabularies = t.Vocabularies
	}
	if len(t.Domains) > 0 {
		f.Domains = t.Domains
	}
	text := strings.TrimSpace(t.Description)
	if text == "" {
		text = strings.TrimSpace(t.Code)
	}
	res, err := e.Search(ctx, search.Query{Text: text, Limit: opts.TopK, Filter: f, Context: t.Context})
	if err != nil {
		return Mapping{Term: t, Status: search.RouteManual, Err: err}
	}
	route := res.Route
	if opts.Thresholds != (search.Thresholds{}) {
		route = res.RouteWith(opts.Thresholds)
	}
	return Mapping{Term: t, Candidates: res.Candidates, Confidence: res.Confidence, Status: route}
}
