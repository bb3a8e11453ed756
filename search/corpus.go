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
// links and RxNorm's drug structure (DrugRelationships). Build it with a
// CorpusBuilder.
type Corpus struct {
	Concepts []Concept         // ordered by ID
	byID     map[int32]int32   // concept_id → ordinal
	mapsTo   map[int32][]int32 // ordinal → ordinals of valid "Maps to" targets
	// drugLinks are RxNorm's valid drug relationships between ordinals, in
	// the forward direction of DrugRelationships, sorted by from, rel, to.
	drugLinks []drugLink
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
	drugs    []drugLink // by concept_id until Build
}

// drugRel is one of RxNorm's drug relationships, in its forward direction.
type drugRel uint8

const (
	relHasBrandName  drugRel = iota + 1 // a branded drug → its Brand Name
	relHasIngredient                    // a drug form or component (or a brand) → an Ingredient
	relTradenameOf                      // a branded drug → its clinical drug; a Brand Name → its Ingredient
	relConsistsOf                       // a drug → its components (ingredient + strength)
	relIsA                              // a clinical drug → its clinical drug form
)

// drugLink is one drug relationship: from —rel→ to.
type drugLink struct {
	from, to int32
	rel      drugRel
}

// DrugRelationships are the CONCEPT_RELATIONSHIP relationship_ids the
// corpus keeps besides "Maps to": RxNorm's links between brands,
// ingredients, components, forms and clinical and branded drugs, in both
// directions (each pair is stored once). Loaders that filter rows (the
// PostgreSQL store) read these.
var DrugRelationships = []string{
	"Has brand name", "Brand name of",
	"RxNorm has ing", "RxNorm ing of",
	"Tradename of", "Has tradename",
	"Consists of", "Constitutes",
	"RxNorm is a", "RxNorm inverse is a",
}

// drugRelOf maps a relationship_id to its forward relationship; reverse is
// true for the inverse name ("Brand name of" is "Has brand name" read
// backwards).
var drugRelOf = map[string]struct {
	rel     drugRel
	reverse bool
}{
	"Has brand name": {relHasBrandName, false}, "Brand name of": {relHasBrandName, true},
	"RxNorm has ing": {relHasIngredient, false}, "RxNorm ing of": {relHasIngredient, true},
	"Tradename of": {relTradenameOf, false}, "Has tradename": {relTradenameOf, true},
	"Consists of": {relConsistsOf, false}, "Constitutes": {relConsistsOf, true},
	"RxNorm is a": {relIsA, false}, "RxNorm inverse is a": {relIsA, true},
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
// "Maps to" rows and the valid rows of DrugRelationships matter to search.
func (b *CorpusBuilder) AddRelationship(id1, id2 int32, relationshipID, invalidReason string) {
	if invalidReason != "" || id1 == id2 {
		return
	}
	if relationshipID == "Maps to" {
		b.maps = append(b.maps, [2]int32{id1, id2})
		return
	}
	if r, ok := drugRelOf[relationshipID]; ok {
		if r.reverse {
			id1, id2 = id2, id1
		}
		b.drugs = append(b.drugs, drugLink{from: id1, to: id2, rel: r.rel})
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
	for _, l := range b.drugs {
		from, ok1 := b.byID[l.from]
		to, ok2 := b.byID[l.to]
		if ok1 && ok2 {
			c.drugLinks = append(c.drugLinks, drugLink{from: from, to: to, rel: l.rel})
		}
	}
	slices.SortFunc(c.drugLinks, func(x, y drugLink) int {
		return cmp.Or(cmp.Compare(x.from, y.from), cmp.Compare(x.rel, y.rel), cmp.Compare(x.to, y.to))
	})
	c.drugLinks = slices.Compact(c.drugLinks) // a pair exported in both directions is one link
	b.drugs = nil
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
	for _, l := range c.drugLinks {
		binary.LittleEndian.PutUint32(buf[:], uint32(c.Concepts[l.from].ID))
		h.Write(buf[:])
		binary.LittleEndian.PutUint32(buf[:], uint32(c.Concepts[l.to].ID))
		h.Write(buf[:])
		h.Write([]byte{byte(l.rel)})
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

// links returns the drug links from ordinal o (a sub-slice of drugLinks).
func (c *Corpus) links(o int32) []drugLink {
	i, _ := slices.BinarySearchFunc(c.drugLinks, o, func(l drugLink, o int32) int { return cmp.Compare(l.from, o) })
	j := i
	for j < len(c.drugLinks) && c.drugLinks[j].from == o {
		j++
	}
	return c.drugLinks[i:j]
}

// ingredientOrdinals follows RxNorm's structure from ordinal o to its
// ingredients: a branded drug to its clinical drug, a drug to its
// components or its form, each of those to its ingredients; a Brand Name
// to the ingredient it is a tradename of. nil when the corpus holds no
// such path.
func (c *Corpus) ingredientOrdinals(o int32) []int32 {
	if c.Concepts[o].Class == "Ingredient" {
		return []int32{o}
	}
	var out []int32
	seen := map[int32]bool{o: true}
	frontier := []int32{o}
	// Five steps reach an ingredient from a branded pack's component
	// (branded component → clinical component → ingredient) and no
	// further: the graph has no longer useful path.
	for depth := 0; depth < 5 && len(frontier) > 0; depth++ {
		var next []int32
		for _, f := range frontier {
			if depth > 0 && c.Concepts[f].Class == "Ingredient" {
				out = append(out, f)
				continue
			}
			for _, l := range c.links(f) {
				if l.rel == relHasBrandName || seen[l.to] {
					continue
				}
				seen[l.to] = true
				next = append(next, l.to)
			}
		}
		frontier = next
	}
	slices.Sort(out)
	return out
}

// Ingredients returns the ingredients RxNorm's relationships give drug
// concept id (a clinical or branded drug, a component, a form, a brand
// name), ordered by ordinal; nil when the corpus has none for it.
func (c *Corpus) Ingredients(id int32) []*Concept {
	o, ok := c.byID[id]
	if !ok {
		return nil
	}
	var out []*Concept
	for _, i := range c.ingredientOrdinals(o) {
		out = append(out, &c.Concepts[i])
	}
	return out
}
