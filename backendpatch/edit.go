package backendpatch

// NewChangeSet starts a change set for the project at root, for writers
// of other kinds of project files (Gen 2's backend.ts) that share the
// diff, the copies kept for undo and the atomic writes.
func NewChangeSet(root string) *ChangeSet { return newChangeSet(root) }

// Load returns a file's content as the change set has it (after earlier
// changes), or ok=false when it does not exist.
func (cs *ChangeSet) Load(rel string) ([]byte, bool, error) { return cs.load(rel) }

// Set records a file's new content (nil deletes the file).
func (cs *ChangeSet) Set(rel string, content []byte, reason string) error {
	return cs.set(rel, content, reason)
}
