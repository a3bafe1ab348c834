#!/bin/sh
# config/catalogd.conf must document every setting: each "section.key" that
# `catalogd config show` prints must appear as ";key =" (or "key =") under
# its [section] in the example, and the example itself must load.
set -u
bin=$1
status=0
"$bin" config check --config config/catalogd.conf >/dev/null || { echo "config/catalogd.conf does not load"; exit 1; }
for name in $("$bin" config show | awk '{print $1}'); do
    case $name in
    *.*) section=${name%%.*}; key=${name#*.} ;;
    *) section=""; key=$name ;;
    esac
    found=$(awk -v want="$section" -v key="$key" '
        /^\[/ { gsub(/[\[\] ]/, ""); current = $0; next }
        current == want && $0 ~ "^;?" key "[ ]*=" { print "yes"; exit }
    ' config/catalogd.conf)
    if [ "$found" != "yes" ]; then
        echo "config/catalogd.conf does not document $name"
        status=1
    fi
done
[ $status -eq 0 ] && echo "config/catalogd.conf documents every setting"
exit $status
