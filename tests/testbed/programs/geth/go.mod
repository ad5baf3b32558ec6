// Wrapper module: builds geth (cmd/geth) at the version the roles pin (geth_version in
// roles/geth/defaults/main.yml; build-programs.sh sets the require line from it). go.sum is
// committed so a fresh machine verifies every module against the same hashes.
module dvops.test/programs/geth

go 1.26

require github.com/ethereum/go-ethereum v1.16.7
