// Package elastic is the lexical tier of package search served by
// Elasticsearch 8, for vocabularies too large for the embedded BM25 index
// or shared by several API servers. A Searcher implements
// search.LexicalSearcher; a Client also creates, fills and publishes the
// indexes it reads.
//
// # Index design
//
// One document per searchable text: a concept's name, or one of its
// synonyms. The document's _id is "<concept_id>-<n>", n = 0 for the name
// and i+1 for Synonyms[i] (which the corpus keeps sorted), so indexing the
// same corpus twice overwrites rather than duplicates. Each document
// carries the concept's fields, denormalised so that every filter is a
// query clause and no join is needed:
//
//	concept_id        integer   collapse key: one hit per concept
//	text              text      the name or synonym, "clinical" analyzer, BM25 k1=1.2 b=0.5 as search.BM25Index
//	text.ngram        text      character 3-grams of text, for misspellings
//	field             keyword   "name" or "synonym"
//	concept_name      text      not indexed; for display
//	concept_code      keyword   lower-cased by a normalizer, so codes match in any case
//	vocabulary_id     keyword
//	domain_id         keyword
//	concept_class_id  keyword
//	standard_concept  keyword   "S", "C", or absent
//	invalid_reason    keyword   absent while the concept is valid
//	maps_to           nested    the concept's valid standard "Maps to" targets:
//	                            concept_id, vocabulary_id, domain_id, concept_class_id
//
// maps_to is nested rather than a plain object so that a standard-only
// query asking for vocabulary V and domain D is satisfied by one target
// that is both, not by one target in V and another in D.
//
// Settings and mappings live in mapping.json, embedded in the binary.
// MappingVersion (a prefix of its SHA-256) is stored in the index's
// mappings._meta.portiere_mapping, which is how CreateIndex tells an index
// it made from one made by another version of this package. The index has
// one shard, so BM25 statistics are the whole vocabulary's, and
// auto_expand_replicas 0-1, so a single-node cluster stays green.
//
// # The clinical analyzer
//
// The "clinical" analyzer mirrors search.Analyzer as far as Elasticsearch's
// built-in filters allow, so the two tiers agree on when two spellings are
// the same word: lowercase and ASCII folding; "æ", "œ" → "e" and "µ" → "u";
// drug names from the International Nonproprietary Name to the United States
// Adopted Name (paracetamol → acetaminophen); letters split from digits
// ("500mg" → 500 mg, "E11.9" → e 11.9) by word_delimiter_graph, which treats
// '.' and ',' as digits so decimals stay whole; one spelling per unit
// ("milligrams" → mg, "%" and "percent" → %); canonical numbers ("0,50",
// ".5" and "0.5" alike; "500.0" → 500); the same short stop-word list, plus
// the lone "." that word_delimiter_graph leaves of "e.g."; British to
// American spelling (haem → hem, tumour → tumor, -isation → -ization); and
// the Snowball English (porter2) stemmer.
//
// Elasticsearch parses synonym rules with the filters before the synonym
// filter and refuses word_delimiter_graph there, so drug names are
// rewritten before letters and digits are split, and units, numbers and
// spellings (which must see split tokens) by pattern_replace filters after.
// word_delimiter_graph has adjust_offsets off because ASCII folding and the
// synonyms change token lengths, which would otherwise give illegal
// offsets.
//
// What it does not mirror: procedure suffixes are not split
// ("parathyroidectomy" does not meet "excision of parathyroid"), related
// words ("renal" / "kidney") are not expanded, and misspellings are caught
// by the text.ngram subfield rather than by trigram expansion of query
// terms, so scores differ from the embedded index even where terms agree.
//
// # Queries
//
// A LexicalQuery becomes one bool query: should clauses match text (boost
// 2), text.ngram (60% of the query's 3-grams) and concept_code exactly
// (boost 10, so an exact code comes first); filter clauses restrict
// vocabulary, domain and class and drop invalid concepts unless
// IncludeInvalid. StandardOnly admits a text of a standard concept meeting
// the filters, or a text of a non-standard concept one of whose maps_to
// targets meets them; the hit then names the non-standard concept, and the
// caller (search.Engine) follows "Maps to" as it does for the embedded
// index. Hits are collapsed on concept_id, so each concept appears once,
// with its best-scoring text.
//
// # Populating an index
//
// The population workflow builds a new index beside the one in use and
// switches readers to it at once:
//
//	c.CreateIndex(ctx, "concepts-20260101")
//	for n, docs := range DocumentsFor(corpus, 2000) { c.BulkIndex(ctx, "concepts-20260101", docs) }
//	c.Refresh(ctx, "concepts-20260101")
//	c.Count(ctx, "concepts-20260101") // compare with the documents sent
//	c.SwapAlias(ctx, "concepts", "concepts-20260101")
//	c.DeleteIndex(ctx, "concepts-20251201")
//
// Searchers read the alias. Every step is idempotent, so each can be a
// retried Temporal activity: CreateIndex accepts an index its own mapping
// made, documents have fixed _ids, and SwapAlias does nothing once done.
package elastic
