// Package export writes reviewed concept-mapping decisions in the formats
// other tools read: the OMOP CDM v5.4 source_to_concept_map table as CSV,
// OHDSI Usagi's mapping CSV, SSSOM TSV and FHIR R4 ConceptMap JSON.
//
// Each format has a Writer that streams: a caller reads decisions from its
// store one at a time, passes each to Write, and calls Close to finish the
// document. Nothing is buffered beyond the current source code, so an export
// of millions of rows needs constant memory.
//
// Which decisions a format carries follows what that format means:
//
//   - source_to_concept_map and FHIR ConceptMap: approved and overridden
//     decisions only. Rejected and undecided rows are skipped, because both
//     formats are read as "use this mapping".
//   - SSSOM: approved and overridden as positive mappings and rejected ones
//     as negated mappings (predicate_modifier Not), all with the
//     justification semapv:ManualMappingCuration; undecided rows are skipped.
//   - Usagi: every decision, with Usagi's own status (APPROVED, FLAGGED,
//     AUTO_MAPPED, UNCHECKED), since a Usagi file is a work in progress that a
//     reviewer may reopen in Usagi.
//
// The package depends on nothing of Portiere's: its input is Decision, which
// callers fill from their own mapping items.
package export
