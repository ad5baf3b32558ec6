// Wrapper module: builds charon's main package at the version the roles pin (charon_version).
// charon's own go.mod has replace directives, which `go install pkg@version` refuses, so they
// are repeated here (keep them in step with charon's go.mod at that version).
module dvops.test/programs/charon

go 1.26

require github.com/obolnetwork/charon v1.10.3

replace github.com/coinbase/kryptology => github.com/ObolNetwork/kryptology v0.1.0

replace github.com/attestantio/go-eth2-client => github.com/ObolNetwork/go-eth2-client v0.28.0-obol.1
