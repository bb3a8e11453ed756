// Package vocab owns Portiere's copy of the OMOP standardized vocabularies:
// importing an Athena release into the database, reporting what a new
// release changed, and reading the live vocabulary back (a concept with its
// synonyms and relationships; the search corpus).
//
// An import replaces the whole vocabulary atomically. The Store loads every
// file of the release into staging tables, builds their keys and indexes,
// validates them, and only then, in one transaction, compares them with
// the live tables and swaps them in. Bad input anywhere leaves the live
// vocabulary as it was. Each import is recorded with the release's
// fingerprint, the row counts and the diff Report.
//
// The reading of release files is in vocab/athena (no database); the
// PostgreSQL Store is in vocab/vocabstore.
package vocab
