#!/usr/bin/env bash
# test-pki.sh DIR NAME...: a throwaway CA (DIR/ca.pem, DIR/ca.key; P-256, 1 day) and, per
# NAME, a certificate for IP 127.0.0.1 usable as TLS server and client (DIR/NAME.pem,
# DIR/NAME.key, and DIR/NAME-full.pem with both, as baresip's sip_certificate wants).
set -eu
DIR=$1; shift
mkdir -p "$DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=telox-ci-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$DIR/ca.key" -out "$DIR/ca.pem" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$DIR/ext"
for n in "$@"; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
    -keyout "$DIR/$n.key" -out "$DIR/$n.csr" 2>/dev/null
  openssl x509 -req -in "$DIR/$n.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
    -days 1 -extfile "$DIR/ext" -out "$DIR/$n.pem" 2>/dev/null
  cat "$DIR/$n.pem" "$DIR/$n.key" >"$DIR/$n-full.pem"
done
