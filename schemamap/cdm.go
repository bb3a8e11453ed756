package schemamap

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

//go:embed OMOP_CDMv5.4_Field_Level.csv
var cdm54Fields []byte

//go:embed OMOP_CDMv5.4_Table_Level.csv
var cdm54Tables []byte

// ErrUnsupportedModel is returned for a target model other than OMOP CDM
// v5.4.
var ErrUnsupportedModel = errors.New("schemamap: unsupported target model")

// ModelCDM54 is the target model name of OMOP CDM v5.4, as the Portiere SDK
// writes it.
const ModelCDM54 = "omop_cdm_v5.4"

// Field is one column of a CDM table, as the CDM specification describes it.
type Field struct {
	Table    string
	Column   string
	Required bool
	// Datatype is the CDM's type: integer, float, date, datetime,
	// varchar(n) or varchar(MAX).
	Datatype    string
	Description string // the CDM's user guidance, "" when it has none
	PrimaryKey  bool
	// ForeignTable is the table a foreign key points to ("CONCEPT",
	// "PERSON", ...); FKDomain the concept domain it expects ("Gender").
	ForeignTable string
	FKDomain     string
}

// Table is one CDM table with its fields in the CDM's order.
type Table struct {
	Name        string
	Description string
	Fields      []Field
}

// Model is a parsed CDM specification. It is read-only after LoadCDM54 and
// safe for concurrent use.
type Model struct {
	name    string
	tables  []Table
	byTable map[string]int
}

// LoadCDM54 parses the embedded OMOP CDM v5.4 specification. It fails only
// if the embedded files are corrupt.
func LoadCDM54() (*Model, error) {
	m := &Model{name: ModelCDM54, byTable: map[string]int{}}
	err := eachRecord(cdm54Tables, func(r map[string]string) {
		m.byTable[r["cdmTableName"]] = len(m.tables)
		m.tables = append(m.tables, Table{Name: r["cdmTableName"], Description: na(r["tableDescription"])})
	})
	if err != nil {
		return nil, fmt.Errorf("schemamap: table list: %w", err)
	}
	err = eachRecord(cdm54Fields, func(r map[string]string) {
		f := Field{
			Table: r["cdmTableName"], Column: r["cdmFieldName"],
			Required:    strings.EqualFold(r["isRequired"], "yes"),
			Datatype:    strings.ToLower(r["cdmDatatype"]),
			Description: na(r["userGuidance"]), PrimaryKey: strings.EqualFold(r["isPrimaryKey"], "yes"),
			ForeignTable: na(r["fkTableName"]), FKDomain: na(r["fkDomain"]),
		}
		i, ok := m.byTable[f.Table]
		if !ok {
			i = len(m.tables)
			m.byTable[f.Table] = i
			m.tables = append(m.tables, Table{Name: f.Table})
		}
		m.tables[i].Fields = append(m.tables[i].Fields, f)
	})
	if err != nil {
		return nil, fmt.Errorf("schemamap: field list: %w", err)
	}
	return m, nil
}

// Name is the model's target-model name, "omop_cdm_v5.4".
func (m *Model) Name() string { return m.name }

// Tables returns every table in the specification's order. The slice is
// shared: callers must not modify it.
func (m *Model) Tables() []Table { return m.tables }

// Table returns the named table (lower case, as in the CDM).
func (m *Model) Table(name string) (Table, bool) {
	i, ok := m.byTable[name]
	if !ok {
		return Table{}, false
	}
	return m.tables[i], true
}

// Field returns one column of one table.
func (m *Model) Field(table, column string) (Field, bool) {
	t, ok := m.Table(table)
	if !ok {
		return Field{}, false
	}
	for _, f := range t.Fields {
		if f.Column == column {
			return f, true
		}
	}
	return Field{}, false
}

func na(s string) string {
	if s == "NA" {
		return ""
	}
	return s
}

func eachRecord(data []byte, fn func(map[string]string)) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	header, err := r.Read()
	if err != nil {
		return err
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			if i < len(rec) {
				row[h] = rec[i]
			}
		}
		fn(row)
	}
}
