# A TLS stream to the broker with a certificate and key (DER, as MicroPython's TLS wants): the pair is
# given per connection, so a rotated certificate is tried without a restart.
# (Not named tls.py: MicroPython has a built-in module of that name.)
import socket
import ssl

CONNECT_TIMEOUT_S = 10  # a dead network fails the attempt instead of hanging the loop


def opener(host, port, server_name, ca_der):
    def open_tls(cert_der, key_der):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_cert_chain(cert_der, key_der)
        context.load_verify_locations(cadata=ca_der)
        context.verify_mode = ssl.CERT_REQUIRED
        sock = socket.socket()
        if hasattr(sock, "settimeout"):
            sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(socket.getaddrinfo(host, port)[0][-1])
            return context.wrap_socket(sock, server_hostname=server_name)
        except Exception:
            sock.close()
            raise

    return open_tls
