// Package portiere holds the files shipped inside the portiere binary that
// live at the repository root. Go embeds files only from a package's own
// folder and below, so this small package sits at the root.
package portiere

import (
	"embed"
	"io/fs"
)

//go:embed testdata/demo-vocab
var demoVocab embed.FS

//go:embed testdata/demo-source-codes.csv
var demoSourceCodes []byte

// DemoVocabulary returns the demo vocabulary in testdata/demo-vocab (see
// its README): an Athena release for athena.OpenFS.
func DemoVocabulary() fs.FS {
	sub, err := fs.Sub(demoVocab, "testdata/demo-vocab")
	if err != nil {
		// fs.Sub fails only on an invalid path, and this one is constant.
		panic(err)
	}
	return sub
}

// DemoSourceCodes returns testdata/demo-source-codes.csv: a few dozen local
// hospital terms (lab names, diagnoses, formulary entries, procedures), in
// the source_code,source_description format of `portiere map`, that
// `portiere dev` puts in a demo project.
func DemoSourceCodes() []byte { return demoSourceCodes }
