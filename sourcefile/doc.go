// Package sourcefile reads an uploaded CSV of source codes — the body of
// POST /api/v1/projects/{id}/sources — into the distinct codes a mapping
// works on, with their summed counts and context.
//
// What it accepts:
//
//   - UTF-8, with or without a byte order mark. UTF-16 (with or without a
//     BOM) and Latin-1/Windows-1252 files are refused with an EncodingError
//     that names the encoding and, for bad bytes, the line.
//   - Comma, semicolon or tab as delimiter, detected from the header and the
//     first lines (or fixed by the caller).
//   - A header row naming a code column and a description column, and
//     optionally count, specimen, unit, domain hint and category columns.
//     Common names are recognised (see AcceptedHeaders); the caller may name the
//     columns instead.
//
// Parse streams its input and enforces size, row, column and field limits
// as it goes, so an upload never has to be held in memory whole. It returns
// either a complete Result or an error — never part of a file: malformed
// rows are collected (up to Limits.MaxErrors, with the total) and returned
// together as *RowErrors. Every error wraps one of the package's sentinels,
// so an HTTP layer can map them to statuses and show their text, which names
// the problem and never contains more than a short excerpt of the file.
package sourcefile
