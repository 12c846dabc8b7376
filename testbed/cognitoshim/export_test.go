package cognitoshim

// For the external tests: the shim's own view of which pool settings
// UpdateUserPool cannot change, and which member sets each.
var ReadOnlySettings = readOnlySettings

func UpdateKey(describeKey string) string { return updateKey(describeKey) }
