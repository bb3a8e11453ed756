package export

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// SSSOMColumns are the columns SSSOMWriter writes, all slots of the SSSOM
// "mapping" class (https://w3id.org/sssom/schema/).
var SSSOMColumns = []string{
	"subject_id", "subject_label", "predicate_id", "predicate_modifier",
	"object_id", "object_label", "mapping_justification", "reviewer_label",
	"mapping_date", "confidence", "comment",
}

// The CURIE prefixes SSSOMWriter declares in its curie_map.
const (
	// SSSOMObjectPrefix prefixes OMOP concept ids: OMOP:201826.
	SSSOMObjectPrefix = "OMOP"
	// SSSOMSubjectPrefix prefixes source codes:
	// source:<vocabulary>/<code>, both path-escaped.
	SSSOMSubjectPrefix = "source"
	// omopConceptBase resolves an OMOP concept id to its Athena page.
	omopConceptBase = "https://athena.ohdsi.org/search-terms/terms/"
)

// SSSOMAllRightsReserved is the licence SSSOM prescribes for a mapping set
// whose licence is not given.
const SSSOMAllRightsReserved = "https://w3id.org/sssom/license/all-rights-reserved"

// SSSOMWriter writes an SSSOM TSV mapping set: a metadata block of "#"
// lines holding YAML (curie_map, mapping_set_id, license, ...) followed by
// a tab-separated table. Create one with NewSSSOM.
type SSSOMWriter struct {
	w      *bufio.Writer
	opts   Options
	header bool
	closed bool
}

type sssomMetadata struct {
	CurieMap          map[string]string `yaml:"curie_map"`
	MappingSetID      string            `yaml:"mapping_set_id"`
	MappingSetVersion string            `yaml:"mapping_set_version,omitempty"`
	MappingSetTitle   string            `yaml:"mapping_set_title,omitempty"`
	License           string            `yaml:"license"`
	SSSOMVersion      string            `yaml:"sssom_version"`
	CreatorLabel      []string          `yaml:"creator_label,omitempty"`
	MappingTool       string            `yaml:"mapping_tool"`
	MappingDate       string            `yaml:"mapping_date,omitempty"`
	SubjectType       string            `yaml:"subject_type"`
	ObjectType        string            `yaml:"object_type"`
}

// NewSSSOM returns a writer of an SSSOM 1.1 TSV mapping set. It returns
// ErrOptions if opts.SetID is not an absolute URI or opts.License is given
// and is not one.
//
// Approved and overridden decisions become positive mappings and rejected
// ones negated mappings (predicate_modifier "Not"), with
// mapping_justification semapv:ManualMappingCuration and the reviewer in
// reviewer_label. Match gives the predicate: skos:exactMatch,
// skos:broadMatch (the target is broader), skos:narrowMatch or
// skos:closeMatch. Undecided decisions are skipped unless
// opts.IncludeUndecided, in which case those with a target are written with
// a justification from their Method (see SSSOMJustification).
//
// Subjects are source:<vocabulary>/<code> with source expanding to
// opts.SourceNamespace; objects are OMOP:<concept_id>. Tabs and line breaks
// inside labels and comments are written as spaces, since SSSOM TSV has no
// quoting.
func NewSSSOM(w io.Writer, opts Options) (*SSSOMWriter, error) {
	if !absoluteURI(opts.SetID) {
		return nil, fmt.Errorf("%w: SSSOM needs SetID as an absolute URI, got %q", ErrOptions, opts.SetID)
	}
	if opts.License == "" {
		opts.License = SSSOMAllRightsReserved
	} else if !absoluteURI(opts.License) {
		return nil, fmt.Errorf("%w: License must be a URI, got %q", ErrOptions, opts.License)
	}
	return &SSSOMWriter{w: bufio.NewWriter(w), opts: opts}, nil
}

// Write writes d when the format carries it (see NewSSSOM).
func (s *SSSOMWriter) Write(d Decision) error {
	if s.closed {
		return ErrClosed
	}
	if err := d.validate(); err != nil {
		return err
	}
	var modifier, justification string
	switch d.Status {
	case StatusApproved, StatusOverridden:
		justification = "semapv:ManualMappingCuration"
	case StatusRejected:
		modifier, justification = "Not", "semapv:ManualMappingCuration"
	case StatusUndecided:
		if !s.opts.IncludeUndecided {
			return nil
		}
		justification = SSSOMJustification(d.Method)
	}
	if d.TargetConceptID <= 0 {
		// A rejection or proposal without a concept states nothing
		// about any object.
		return nil
	}
	if err := s.writeHeader(); err != nil {
		return err
	}
	var date, reviewer string
	if d.Status != StatusUndecided {
		// reviewer_label is multivalued: "|" would split one name in two.
		reviewer = strings.ReplaceAll(d.Reviewer, "|", "/")
		if !d.DecidedAt.IsZero() {
			date = d.DecidedAt.UTC().Format(time.DateOnly)
		}
	}
	return s.row([]string{
		SSSOMSubjectPrefix + ":" + url.PathEscape(d.SourceVocabularyID) + "/" + url.PathEscape(d.SourceCode),
		d.SourceDescription,
		sssomPredicate[d.Match],
		modifier,
		SSSOMObjectPrefix + ":" + strconv.FormatInt(d.TargetConceptID, 10),
		d.TargetConceptName,
		justification,
		reviewer,
		date,
		strconv.FormatFloat(d.Confidence, 'f', -1, 64),
		d.Comment,
	})
}

// Close writes the metadata and header if nothing was written yet and
// flushes.
func (s *SSSOMWriter) Close() error {
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if err := s.writeHeader(); err != nil {
		return err
	}
	return s.w.Flush()
}

var sssomPredicate = map[Match]string{
	MatchExact: "skos:exactMatch", MatchBroader: "skos:broadMatch", MatchNarrower: "skos:narrowMatch", MatchInexact: "skos:closeMatch",
}

// SSSOMJustification names the semapv justification of an automatic
// proposal made by method: lexical methods give semapv:LexicalMatching,
// embedding methods semapv:SemanticSimilarityThresholdMatching, fused or
// reranked ones semapv:CompositeMatching, reuse of a reviewed decision
// ("memory") and manual entry semapv:ManualMappingCuration, anything else
// semapv:UnspecifiedMatching.
func SSSOMJustification(method string) string {
	switch strings.ToLower(method) {
	case "lexical", "bm25", "exact", "string", "tfidf":
		return "semapv:LexicalMatching"
	case "dense", "semantic", "embedding", "vector":
		return "semapv:SemanticSimilarityThresholdMatching"
	case "hybrid", "rerank", "composite", "rrf":
		return "semapv:CompositeMatching"
	case "memory", "manual", "override":
		return "semapv:ManualMappingCuration"
	}
	return "semapv:UnspecifiedMatching"
}

func (s *SSSOMWriter) writeHeader() error {
	if s.header {
		return nil
	}
	s.header = true
	meta := sssomMetadata{
		CurieMap: map[string]string{
			SSSOMObjectPrefix:  omopConceptBase,
			SSSOMSubjectPrefix: s.opts.sourceNamespace(),
			"semapv":           "https://w3id.org/semapv/vocab/",
			"skos":             "http://www.w3.org/2004/02/skos/core#",
			"sssom":            "https://w3id.org/sssom/",
		},
		MappingSetID:      s.opts.SetID,
		MappingSetVersion: s.opts.Version,
		MappingSetTitle:   s.opts.Title,
		License:           s.opts.License,
		SSSOMVersion:      "1.1",
		MappingTool:       "Portiere",
		SubjectType:       "skos concept",
		ObjectType:        "skos concept",
	}
	if s.opts.Publisher != "" {
		meta.CreatorLabel = []string{s.opts.Publisher}
	}
	if !s.opts.Date.IsZero() {
		meta.MappingDate = s.opts.Date.UTC().Format(time.DateOnly)
	}
	block, err := yaml.Marshal(meta)
	if err != nil {
		return fmt.Errorf("export: sssom metadata: %w", err)
	}
	for _, line := range strings.SplitAfter(strings.TrimSuffix(string(block), "\n"), "\n") {
		s.w.WriteString("# ")
		s.w.WriteString(line)
	}
	s.w.WriteString("\n")
	return s.row(SSSOMColumns)
}

var tsvCleaner = strings.NewReplacer("\t", " ", "\r\n", " ", "\r", " ", "\n", " ")

func (s *SSSOMWriter) row(fields []string) error {
	for i, f := range fields {
		if i > 0 {
			s.w.WriteByte('\t')
		}
		s.w.WriteString(tsvCleaner.Replace(f))
	}
	_, err := s.w.WriteString("\n")
	return err
}

func absoluteURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "")
}
