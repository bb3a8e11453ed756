// Package schemamap knows the tables and columns of the OMOP Common Data
// Model v5.4 and suggests where a source data set's columns belong in it.
//
// The CDM's published field list (OHDSI CommonDataModel,
// OMOP_CDMv5.4_Field_Level.csv and OMOP_CDMv5.4_Table_Level.csv, Apache-2.0,
// see NOTICE) is embedded in the binary; LoadCDM54 parses it into a Model.
// Model.Suggest ranks CDM table/column targets for source columns from
// their names, their table's name and sample values; suggest.go lists the
// rules.
package schemamap
