// Package athena reads an OMOP standardized-vocabulary release as exported
// by OHDSI Athena (or by a CDM database): CONCEPT.csv, CONCEPT_SYNONYM.csv,
// CONCEPT_RELATIONSHIP.csv, CONCEPT_ANCESTOR.csv, VOCABULARY.csv, DOMAIN.csv,
// CONCEPT_CLASS.csv and RELATIONSHIP.csv in one folder.
//
// Only CONCEPT.csv is mandatory; the other files may be absent or hold only
// a header. File names are matched without regard to case.
//
// Two flavours are accepted, told apart per file by its header line:
//
//   - Athena: tab-separated, no quoting at all (a field may contain a
//     literal "), dates as YYYYMMDD.
//   - CDM export: comma-separated, quoted as in RFC 4180, dates as
//     YYYY-MM-DD.
//
// Either flavour may start with a UTF-8 byte-order mark and use CRLF line
// ends; columns are matched by header name (case-insensitive) in any order,
// and unknown columns are ignored. An empty field in a nullable column
// (standard_concept, invalid_reason, vocabulary_reference,
// vocabulary_version) reads as the empty string, which callers store as
// NULL. Nullable columns may be missing from the header; every other CDM
// column is required.
//
// Rows are streamed: memory use does not grow with the file, so a full
// release (millions of concepts, tens of millions of relationships) reads in
// constant memory. Each table can be read with a callback
// (Release.Concepts) or a cursor (Release.ConceptRows). The string fields of
// one row share a single allocation.
//
// Malformed input stops the read with a *ParseError naming the file, the
// 1-based line and the problem. The package does not touch a database; the
// PostgreSQL importer lives in vocab/vocabstore.
package athena
