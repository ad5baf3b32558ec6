"""_vault: our vault text must be what ansible-vault itself reads, and the reverse."""

import pytest

from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.dvops.charon.plugins.module_utils import _vault

PASSWORD = "correct horse battery staple"


def vaultlib(password=PASSWORD):
    return VaultLib([("default", VaultSecret(password.encode()))])


@pytest.mark.parametrize("plaintext", [b"", b"x", b"0123456789abcdef", bytes(range(256)) * 5, "é".encode()])
def test_ansible_decrypts_ours(plaintext):
    text = _vault.encrypt(plaintext, PASSWORD)
    assert bytes(vaultlib().decrypt(text)) == plaintext


def test_format_header_lines_and_trailing_newline():
    text = _vault.encrypt(b"k" * 100, PASSWORD)
    lines = text.split("\n")
    assert lines[0] == "$ANSIBLE_VAULT;1.1;AES256"
    assert text.endswith("\n") and lines[-1] == ""
    assert all(0 < len(line) <= 80 for line in lines[1:-1])
    assert all(len(line) == 80 for line in lines[1:-2])


def test_same_bytes_as_vaultlib_for_a_fixed_salt():
    salt = b"s" * 32
    ours = _vault.encrypt(b"secret key material", PASSWORD, salt=salt)
    from ansible.parsing.vault import VaultAES256, format_vaulttext_envelope
    theirs = format_vaulttext_envelope(VaultAES256.encrypt(b"secret key material", VaultSecret(PASSWORD.encode()), salt=salt), "AES256")
    assert ours.encode() == bytes(theirs)


def test_random_salt_differs_each_time():
    assert _vault.encrypt(b"a", PASSWORD) != _vault.encrypt(b"a", PASSWORD)


def test_we_decrypt_ansible_vault_text():
    theirs = vaultlib().encrypt(b"from ansible")
    assert _vault.decrypt(theirs, PASSWORD) == b"from ansible"
    assert _vault.decrypt(_vault.encrypt(b"round", PASSWORD), PASSWORD) == b"round"


def test_wrong_password_is_refused():
    text = _vault.encrypt(b"a", PASSWORD)
    with pytest.raises(_vault.VaultError, match="HMAC"):
        _vault.decrypt(text, "wrong")


def test_empty_password_is_refused():
    with pytest.raises(_vault.VaultError, match="empty"):
        _vault.encrypt(b"a", "")


@pytest.mark.parametrize("text", ["", "hello", "$ANSIBLE_VAULT;1.1;AES128\n00", "$ANSIBLE_VAULT;1.1;AES256\nzz"])
def test_malformed_text_is_refused(text):
    with pytest.raises(_vault.VaultError):
        _vault.decrypt(text, PASSWORD)


def test_password_verifier():
    v = _vault.password_verifier(PASSWORD)
    assert v.startswith("pbkdf2-sha256$10000$") and PASSWORD not in v
    assert _vault.verifier_matches(PASSWORD, v)
    assert not _vault.verifier_matches("other", v)
    assert _vault.password_verifier(PASSWORD) != v  # salted


@pytest.mark.parametrize("bad", [None, "", "x", "pbkdf2-sha256$1$00$00", "pbkdf2-sha256$10000$zz$00", "md5$10000$00$00"])
def test_malformed_verifier_never_matches(bad):
    assert not _vault.verifier_matches(PASSWORD, bad)
