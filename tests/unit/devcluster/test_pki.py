import ipaddress

from cryptography import x509

from salvage.devcluster.pki import create_pki


def test_server_certificate_is_signed_by_the_ca_and_covers_loopback(tmp_path):
    pki = create_pki(tmp_path / "pki", "t")
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    assert oct(pki.server_key.stat().st_mode & 0o777) == "0o600"


def test_create_pki_keeps_existing_material(tmp_path):
    first = create_pki(tmp_path / "pki", "t").ca_cert.read_bytes()
    assert create_pki(tmp_path / "pki", "t").ca_cert.read_bytes() == first
