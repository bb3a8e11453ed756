package search

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Concept is one searchable concept with its synonyms.
type Concept struct {
	ID            int32
	Name          string
	Domain        string
	Vocabulary    string
	Class         string
	Standard      string // "S", "C" or ""
	Code          string
	InvalidReason string // "" while valid
	Synonyms      []string
}

// Valid reports whether the concept has no invalid_reason.
func (c *Concept) Valid() bool { return c.InvalidReason == "" }

// Corpus is the vocabulary an Engine searches: concepts plus their "Maps to"
// links. Build it with a CorpusBuilder.
type Corpus struct {
	Concepts []Concept         // ordered by ID
	byID     map[int32]int32   // concept_id → ordinal
	mapsTo   map[int32][]int32 // ordinal → ordinals of valid "Maps to" targets
	// Fingerprint identifies the corpus content; indexes built from another
	// corpus are refused.
	Fingerprint string
}

// CorpusBuilder accumulates concepts, synonyms and relationships in any
// order. It is not safe for concurrent use.
type CorpusBuilder struct {
	concepts []Concept
	byID     map[int32]int32
	synonyms map[int32][]string
	maps     [][2]int32
}

// NewCorpusBuilder starts an empty corpus.
func NewCorpusBuilder() *CorpusBuilder {
	return &CorpusBuilder{byID: map[int32]int32{}, synonyms: map[int32][]string{}}
}

// AddConcept adds c. A second concept with the same id is an error.
func (b *CorpusBuilder) AddConcept(c Concept) error {
	if _, dup := b.byID[c.ID]; dup {
		return fmt.Errorf("search: duplicate concept_id %d", c.ID)
	}
	b.byID[c.ID] = int32(len(b.concepts))
	b.concepts = append(b.concepts, c)
	return nil
}

// AddSynonym records a synonym of concept id; synonyms equal to the name
// (ignoring case) are dropped.
func (b *CorpusBuilder) AddSynonym(id int32, name string) {
	b.synonyms[id] = append(b.synonyms[id], name)
}

// AddRelationship records one concept_relationship row; only valid
// "Maps to" rows matter to search.
func (b *CorpusBuilder) AddRelationship(id1, id2 int32, relationshipID, invalidReason string) {
	if relationshipID == "Maps to" && invalidReason == "" && id1 != id2 {
		b.maps = append(b.maps, [2]int32{id1, id2})
	}
}

// Build finishes the corpus. Synonyms and relationships naming unknown
// concepts are ignored (an export may be a subset).
//
// The result depends only on what was added, not on the order it was added
// in: concepts are ordered by concept_id, each concept's synonyms are sorted
// (of synonyms equal but for case and surrounding space, the first in byte
// order is kept) and its "Maps to" targets are sorted and deduplicated. So
// a release read from its files and the same release read from PostgreSQL
// give the same Fingerprint. The builder must not be used after Build.
func (b *CorpusBuilder) Build() *Corpus {
	slices.SortFunc(b.concepts, func(x, y Concept) int { return cmp.Compare(x.ID, y.ID) })
	for i := range b.concepts {
		b.byID[b.concepts[i].ID] = int32(i)
	}
	c := &Corpus{Concepts: b.concepts, byID: b.byID, mapsTo: map[int32][]int32{}}
	for id, syns := range b.synonyms {
		o, ok := b.byID[id]
		if !ok {
			continue
		}
		con := &c.Concepts[o]
		seen := map[string]bool{strings.ToLower(con.Name): true}
		slices.Sort(syns)
		for _, s := range syns {
			k := strings.ToLower(strings.TrimSpace(s))
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			con.Synonyms = append(con.Synonyms, s)
		}
		slices.Sort(con.Synonyms) // with any set in AddConcept, which the loop above did not see
	}
	for _, m := range b.maps {
		from, ok1 := b.byID[m[0]]
		to, ok2 := b.byID[m[1]]
		if ok1 && ok2 && c.Concepts[to].Valid() {
			c.mapsTo[from] = append(c.mapsTo[from], to)
		}
	}
	for k, ts := range c.mapsTo {
		slices.Sort(ts)
		c.mapsTo[k] = slices.Compact(ts)
	}
	c.Fingerprint = c.fingerprint()
	return c
}

// fingerprint hashes everything search depends on, in ordinal order.
func (c *Corpus) fingerprint() string {
	h := sha256.New()
	var buf [4]byte
	for i := range c.Concepts {
		con := &c.Concepts[i]
		binary.LittleEndian.PutUint32(buf[:], uint32(con.ID))
		h.Write(buf[:])
		for _, s := range []string{con.Name, con.Domain, con.Vocabulary, con.Class, con.Standard, con.Code, con.InvalidReason} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		for _, s := range con.Synonyms {
			h.Write([]byte(s))
			h.Write([]byte{1})
		}
		for _, t := range c.mapsTo[int32(i)] {
			binary.LittleEndian.PutUint32(buf[:], uint32(c.Concepts[t].ID))
			h.Write(buf[:])
		}
		h.Write([]byte{2})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Lookup returns the concept with id.
func (c *Corpus) Lookup(id int32) (*Concept, bool) {
	o, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	return &c.Concepts[o], true
}

// MapsTo returns the valid standard targets of concept id.
func (c *Corpus) MapsTo(id int32) []*Concept {
	o, ok := c.byID[id]
	if !ok {
		return nil
	}
	var out []*Concept
	for _, t := range c.mapsTo[o] {
		out = append(out, &c.Concepts[t])
	}
	return out
}
