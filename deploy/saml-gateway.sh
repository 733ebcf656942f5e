#!/usr/bin/env bash
# saml-gateway on a Motion host, one command per step (README "Deploy beside Motion"):
#
#   install    the service user, the systemd unit (+ daemon-reload), the nginx snippet and
#              upstream files (an upstream file already there is kept: it lists your gateways).
#              Starts nothing and leaves Motion's nginx site alone. Again after an upgrade.
#   check      `saml-gateway check` exactly as the service reads its settings: systemd-run with
#              the installed unit's user, credentials, environment, directory and sandbox.
#   enable     check (else nothing changes), backup, then Motion's site includes the snippet
#              (nginx -t, else undone), the gateway starts, nginx reloads: /api/auth/saml is
#              the gateway's.
#   rollback   backup, then the include line leaves Motion's site (nginx -t, else undone), nginx
#              reloads, the gateway stops and is disabled: /api/auth/saml is Motion's built-in
#              SAML again. Settings and data stay; `enable` brings the gateway back.
#   backup     one archive (mode 0600) of Motion's site, .env, the gateway's nginx files, unit
#              and data dir, in /var/backups/saml-gateway/. The session store is copied as it
#              is: sessions may be lost (people sign in again), keys and secrets are not.
#   restore A  puts archive A's files back, then daemon-reload, nginx -t and reload, and a
#              restart of the gateway if it runs.
#
# Run as root. Motion's nginx site: the one file in sites-enabled/ or conf.d/ with a server that
# listens on 443, or NGINX_SITE=/etc/nginx/sites-available/motion. SAML_GATEWAY_ROOT puts every
# path under another folder (the tests use it with stand-ins for systemctl, systemd-run, nginx).
set -euo pipefail

ROOT=${SAML_GATEWAY_ROOT:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVICE=saml-gateway
USER_NAME=saml-gateway
UNIT=$ROOT/etc/systemd/system/$SERVICE.service
NGINX_DIR=$ROOT/etc/nginx
SNIPPET=$NGINX_DIR/snippets/saml-gateway.conf
UPSTREAM=$NGINX_DIR/conf.d/saml-gateway-upstream.conf
INCLUDE_LINE='include snippets/saml-gateway.conf;'
MOTION_ENV=$ROOT/var/opt/motion2/.env
DATA_DIR=$ROOT/var/lib/saml-gateway
BACKUP_DIR=$ROOT/var/backups/saml-gateway
CHECK_UNIT=$SERVICE-check.service

say () { printf 'saml-gateway: %s\n' "$*"; }
die () { printf 'saml-gateway: %s\n' "$*" >&2; exit "${2:-1}"; }

need_root () {
  [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run this as root (sudo $0 $*)"
}

# Motion's nginx site: NGINX_SITE, or the one enabled file with a server on 443.
motion_site () {
  if [ -n "${NGINX_SITE:-}" ]; then
    [ -f "$ROOT$NGINX_SITE" ] || die "NGINX_SITE=$NGINX_SITE: no such file"
    printf '%s\n' "$ROOT$NGINX_SITE"
    return
  fi
  local found=()
  for f in "$NGINX_DIR"/sites-enabled/* "$NGINX_DIR"/conf.d/*.conf; do
    [ -f "$f" ] && [ "$f" != "$UPSTREAM" ] && grep -Eq '^[[:space:]]*listen[[:space:]][^#]*443' "$f" && found+=("$(readlink -f "$f")")
  done
  [ ${#found[@]} -eq 1 ] || die "Motion's nginx site: found ${#found[@]} files with a server on 443 (${found[*]:-none}); say which with NGINX_SITE=/etc/nginx/sites-available/<file>"
  printf '%s\n' "${found[0]}"
}

cmd_install () {
  need_root install
  if ! getent passwd "$USER_NAME" >/dev/null; then
    useradd --system --home-dir /var/lib/saml-gateway --shell /usr/sbin/nologin "$USER_NAME"
    say "user $USER_NAME created"
  fi
  install -D -m 0644 "$HERE/saml-gateway.service" "$UNIT"
  install -D -m 0644 "$HERE/nginx/saml-gateway.conf" "$SNIPPET"
  # The upstream file lists the operator's gateways: a new release does not overwrite it.
  if [ -f "$UPSTREAM" ]; then
    cmp -s "$HERE/nginx/saml-gateway-upstream.conf" "$UPSTREAM" || say "kept $UPSTREAM as it is (compare with $HERE/nginx/saml-gateway-upstream.conf)"
  else
    install -D -m 0644 "$HERE/nginx/saml-gateway-upstream.conf" "$UPSTREAM"
  fi
  systemctl daemon-reload
  say "installed $UNIT, $SNIPPET, $UPSTREAM; nothing started, Motion's site unchanged"
  say "next: add the gateway's settings to Motion's .env, then: $0 check"
}

# The installed unit's lines that decide how the service reads its settings, as systemd-run -p.
unit_properties () {
  sed -n '/^\[Service\]/,/^\[/p' "$UNIT" \
    | grep -E '^(User|Group|WorkingDirectory|Environment|LoadCredential|UMask|StateDirectory|ReadWritePaths|ProtectSystem|ProtectHome|PrivateTmp|NoNewPrivileges)=' \
    | sed "s/%n/$CHECK_UNIT/g"
}

cmd_check () {
  need_root check
  [ -f "$UNIT" ] || die "$UNIT is missing: run $0 install first"
  local args=(--unit="$CHECK_UNIT" --pipe --wait --collect --quiet --service-type=exec)
  while IFS= read -r property; do args+=(-p "$property"); done < <(unit_properties)
  local status=0
  systemd-run "${args[@]}" /usr/bin/node dist/src/cli.js check "$@" || status=$?
  [ "$status" -eq 0 ] || die "check failed (exit $status): fix what it says in Motion's .env, then run it again" "$status"
}

cmd_backup () {
  need_root backup
  local site stamp archive paths=()
  # On a host without Motion's site (a fresh one), the rest is still worth keeping.
  site=$(motion_site 2>/dev/null) || site=''
  for p in ${site:+"$site"} "$SNIPPET" "$UPSTREAM" "$UNIT" "$MOTION_ENV" "$DATA_DIR"; do
    [ -e "$p" ] && paths+=("${p#"$ROOT"/}")
  done
  mkdir -p -m 0700 "$BACKUP_DIR"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  archive=$BACKUP_DIR/saml-gateway-$stamp.tar.gz
  [ -e "$archive" ] && archive=$BACKUP_DIR/saml-gateway-$stamp-$$.tar.gz
  (umask 077 && tar -C "${ROOT:-/}" -czf "$archive" "${paths[@]}")
  say "backup: $archive (${paths[*]})"
  LAST_BACKUP=$archive
}

# The 443 server block's first server_name line: the include goes right after it.
insert_include () {
  local site=$1 target
  target=$(awk '
    { line = $0; sub(/#.*/, "", line) }
    depth == 0 && line ~ /^[[:space:]]*server[[:space:]]*\{/ { in_server = 1; ssl = 0; name = 0 }
    in_server && depth == 1 && line ~ /^[[:space:]]*listen[[:space:]].*(443|ssl)/ { ssl = 1 }
    in_server && depth == 1 && line ~ /^[[:space:]]*server_name[[:space:]]/ && name == 0 { name = NR }
    { depth += gsub(/\{/, "{", line) - gsub(/\}/, "}", line) }
    in_server && depth == 0 { if (ssl && name && !found) found = name; in_server = 0 }
    END { print found + 0 }' "$site")
  [ "$target" -gt 0 ] || die "$site: no server block with listen 443 and server_name; add \"$INCLUDE_LINE\" to it by hand"
  awk -v at="$target" -v text="$INCLUDE_LINE" '
    { print } NR == at { match($0, /^[[:space:]]*/); print substr($0, 1, RLENGTH) text }' "$site" > "$site.saml-gateway-new"
  cat "$site.saml-gateway-new" > "$site" && rm -f "$site.saml-gateway-new"
}

remove_include () {
  local site=$1
  grep -vE "^[[:space:]]*include[[:space:]]+(/etc/nginx/)?snippets/saml-gateway\.conf;[[:space:]]*$" "$site" > "$site.saml-gateway-new" || true
  cat "$site.saml-gateway-new" > "$site" && rm -f "$site.saml-gateway-new"
}

has_include () { grep -qE "^[[:space:]]*include[[:space:]]+(/etc/nginx/)?snippets/saml-gateway\.conf;" "$1"; }

# Changes Motion's site with $1 (insert_include or remove_include); puts it back if nginx -t refuses.
edit_site () {
  local change=$1 site saved
  site=$(motion_site)
  saved=$(mktemp)
  cp -p "$site" "$saved"
  "$change" "$site"
  if ! nginx -t; then
    cat "$saved" > "$site"
    rm -f "$saved"
    die "nginx -t refused the change; $site is as it was"
  fi
  rm -f "$saved"
}

cmd_enable () {
  need_root enable
  [ -f "$SNIPPET" ] && [ -f "$UPSTREAM" ] && [ -f "$UNIT" ] || die "run $0 install first"
  # Never route logins to a gateway that cannot start: check first, change nothing if it fails.
  cmd_check
  cmd_backup
  local site
  site=$(motion_site)
  if has_include "$site"; then say "$site includes the snippet already"; else edit_site insert_include; fi
  systemctl enable --now "$SERVICE"
  systemctl reload nginx
  say "enabled: /api/auth/saml is the gateway's (rollback: $0 rollback; backup: $LAST_BACKUP)"
}

cmd_rollback () {
  need_root rollback
  cmd_backup
  local site
  site=$(motion_site)
  if has_include "$site"; then edit_site remove_include; fi
  systemctl reload nginx
  systemctl disable --now "$SERVICE"
  say "rolled back: /api/auth/saml is Motion's built-in SAML again; settings and data kept (backup: $LAST_BACKUP)"
}

cmd_restore () {
  need_root restore
  local archive=${1:-}
  [ -f "$archive" ] || die "usage: $0 restore /var/backups/saml-gateway/saml-gateway-<time>.tar.gz"
  tar -C "${ROOT:-/}" -xzpf "$archive"
  systemctl daemon-reload
  nginx -t || die "nginx -t refused the restored files: see above"
  systemctl reload nginx
  systemctl try-restart "$SERVICE"
  say "restored $archive"
}

main () {
  local command=${1:-}
  [ $# -gt 0 ] && shift
  case $command in
    install) cmd_install ;;
    check) cmd_check "$@" ;;
    enable) cmd_enable ;;
    rollback) cmd_rollback ;;
    backup) cmd_backup ;;
    restore) cmd_restore "$@" ;;
    *) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [ -z "$command" ] || [ "$command" = help ] || exit 64 ;;
  esac
}

main "$@"
