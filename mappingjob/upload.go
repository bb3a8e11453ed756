package mappingjob

import "github.com/portiere/portiere/sourcefile"

// UploadedSource is the source and codes to store for a CSV that
// sourcefile parsed: an upload named name to project, by user. The API's
// upload and the dashboard's both store what it returns with
// SourceStore.CreateSource, so an upload reads back the same whichever
// received it.
func UploadedSource(project, name, user string, res *sourcefile.Result) (Source, []SourceCode) {
	cols := SourceColumns{Code: res.Columns.Code, Description: res.Columns.Description, Count: res.Columns.Count,
		Specimen: res.Columns.Specimen, Unit: res.Columns.Unit, DomainHint: res.Columns.DomainHint, Category: res.Columns.Category}
	codes := make([]SourceCode, len(res.Codes))
	for i, rc := range res.Codes {
		codes[i] = SourceCode{Code: rc.Code, Description: rc.Description, Count: rc.Count, Column: res.Columns.Code,
			Specimen: rc.Specimen, Unit: rc.Unit, DomainHint: rc.DomainHint, Category: rc.Category}
	}
	src := Source{
		ProjectID: project, Name: name, Format: "csv", Kind: SourceUpload, Header: res.Header, Columns: cols,
		Delimiter: string(res.Delimiter), Rows: int64(res.Rows), DistinctCodes: int64(len(res.Codes)), TotalCount: res.TotalCount,
		CreatedBy: user,
	}
	return src, codes
}
