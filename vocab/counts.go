package vocab

// VocabularyCount is how many concepts of one vocabulary the live tables
// hold, for status pages.
type VocabularyCount struct {
	VocabularyID string // e.g. SNOMED
	Name         string // vocabulary_name; "" when the vocabulary table lacks the row
	Version      string // vocabulary_version as the release states it
	Concepts     int64
	Standard     int64 // standard_concept = 'S'
}
