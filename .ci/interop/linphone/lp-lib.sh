# Drives linphonec (linphone-cli 5.1, the console client) headless from the interop scripts
# (sourced, not run). Each instance gets its own HOME (linphone keeps state in
# ~/.local/share/linphone and ~/.config/linphone, and refuses to start its SIP stack when the
# database directory is missing), a generated config file (linphonec rewrites it at exit),
# a FIFO as stdin (console commands are text lines) and a debug log (-d 6) that holds the
# whole SIP trace with CRLF intact.
# shellcheck shell=bash

# lp_start NAME SIP_PORT RTP_PORT [key=value...]: starts linphonec NAME under $WORK/lp-NAME.
# Keys: user= (registers sip:user@127.0.0.1 with password = user at registrar=IP:PORT),
#   enc=none|srtp|srtp-optional (SDES-SRTP, mandatory or not), xr=1 (RTCP-XR with every block it knows),
#   autoanswer=1, play=FILE.wav, record=FILE.wav, secs= (linphonec's timeout, default 60).
# Audio: 'soundcard use files' (no sound card here): PLAY is sent, RECORD is written.
lp_start() {
  local name=$1 sip=$2 rtp=$3; shift 3
  local user="" registrar="" enc=none xr=0 autoanswer=0 play="" record="" secs=60 kv
  for kv in "$@"; do
    case "$kv" in
      user=*) user=${kv#user=} ;; registrar=*) registrar=${kv#registrar=} ;;
      enc=*) enc=${kv#enc=} ;; xr=*) xr=${kv#xr=} ;; autoanswer=*) autoanswer=${kv#autoanswer=} ;;
      play=*) play=${kv#play=} ;; record=*) record=${kv#record=} ;; secs=*) secs=${kv#secs=} ;;
      *) echo "lp_start: unknown $kv" >&2; return 2 ;;
    esac
  done
  local d="$WORK/lp-$name"
  mkdir -p "$d/home/.local/share/linphone" "$d/home/.config/linphone"
  {
    printf '[sip]\nsip_port=%s\nsip_tcp_port=0\nsip_tls_port=0\nuse_ipv6=0\n' "$sip"
    printf 'contact=sip:%s@127.0.0.1\n' "${user:-$name}"
    case "$enc" in
      srtp) printf 'media_encryption=srtp\nmedia_encryption_mandatory=1\n' ;;
      srtp-optional) printf 'media_encryption=srtp\nmedia_encryption_mandatory=0\n' ;;
    esac
    [ -n "$user" ] && printf 'default_proxy=0\n'
    printf '[rtp]\naudio_rtp_port=%s\nvideo_rtp_port=%s\n' "$rtp" "$((rtp + 10))"
    if [ "$xr" = 1 ]; then
      printf 'rtcp_xr_enabled=1\nrtcp_xr_rcvr_rtt_mode=all\nrtcp_xr_rcvr_rtt_max_size=10000\n'
      printf 'rtcp_xr_stat_summary_enabled=1\nrtcp_xr_voip_metrics_enabled=1\n'
    fi
    printf '[net]\nfirewall_policy=0\n'
    if [ -n "$user" ]; then
      printf '[proxy_0]\nreg_proxy=<sip:%s>\nreg_identity=sip:%s@127.0.0.1\n' "$registrar" "$user"
      printf 'reg_expires=600\nreg_sendregister=1\n'
      printf '[auth_info_0]\nusername=%s\npasswd=%s\n' "$user" "$user"
    fi
  } > "$d/rc"
  rm -f "$d/in"; mkfifo "$d/in"
  HOME="$d/home" timeout -k 3 "$secs" linphonec -c "$d/rc" -d 6 -l "$d/lp.log" <"$d/in" >"$d/out" 2>"$d/err" &
  printf -v "LP_PID_$name" %s "$!"
  local fd
  exec {fd}>"$d/in"
  printf -v "LP_FD_$name" %s "$fd"
  lp_cmd "$name" "soundcard use files"
  [ -n "$play" ] && lp_cmd "$name" "play $play"
  [ -n "$record" ] && lp_cmd "$name" "record $record"
  [ "$autoanswer" = 1 ] && lp_cmd "$name" "autoanswer enable"
  LP_NAMES="${LP_NAMES:-} $name"
}

# lp_cmd NAME LINE: one console command.
lp_cmd() {
  local v="LP_FD_$1"; shift
  [ -n "${!v:-}" ] && printf '%s\n' "$*" >&"${!v}" 2>/dev/null
  true
}

# lp_wait NAME FILE(out|lp.log) REGEX SECS: waits until FILE of NAME matches REGEX.
lp_wait() {
  local f="$WORK/lp-$1/$2" re=$3 n=$(($4 * 10)) i
  for ((i = 0; i < n; i++)); do
    grep -qE "$re" "$f" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# lp_stop NAME: quit (linphonec unregisters first), then the FIFO is closed; killed after 5 s.
lp_stop() {
  local p="LP_PID_$1" v="LP_FD_$1" i
  [ -z "${!p:-}" ] && return 0
  lp_cmd "$1" quit
  for ((i = 0; i < 50; i++)); do kill -0 "${!p}" 2>/dev/null || break; sleep 0.1; done
  kill "${!p}" 2>/dev/null; wait "${!p}" 2>/dev/null
  local fdn=${!v:-}
  [ -n "$fdn" ] && exec {fdn}>&-
  printf -v "LP_PID_$1" %s ""; printf -v "LP_FD_$1" %s ""
  true
}

lp_stop_all() { local n; for n in ${LP_NAMES:-}; do lp_stop "$n"; done; }

# lp_free_rtp_port: an even UDP port P on 127.0.0.1 with P and P+1 free (linphone's RTP and RTCP).
lp_free_rtp_port() {
  python3 -c '
import random, socket
for _ in range(200):
    p = random.randrange(40000, 60000, 2)
    try:
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", p))
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("127.0.0.1", p + 1))
    except OSError:
        continue
    print(p)
    break'
}
