package amplifygen2

import "testing"

// FuzzParseOutputs reads the fuzzer's amplify_outputs.json: parseOutputs
// must return outputs or an error, never panic or crash (deep nesting once
// overflowed gjson's validator). The seed corpus in
// testdata/fuzz/FuzzParseOutputs holds the outputs the tests use.
func FuzzParseOutputs(f *testing.F) {
	f.Add([]byte(`{"version":"1.4","auth":{"user_pool_id":"eu-west-1_AbC","aws_region":"eu-west-1"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		o, err := parseOutputs(raw)
		if err == nil && o == nil {
			t.Fatal("parseOutputs returned neither outputs nor an error")
		}
	})
}
