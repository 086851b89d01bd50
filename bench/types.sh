# bench/types.sh — rows for the bitmap, HyperLogLog and GEO commands
# (sourced by bench/run.sh): redis-benchmark sends one command line per
# request to one key of each kind, the write row of a kind before its read
# row (the test order), so the read finds what the write made.
#   setbit     SETBIT of bit 1000 in a random key (of -r; redis-benchmark's
#              random numbers are zero-padded, which no offset accepts)
#   bitcount   BITCOUNT of a random one of those keys (126 bytes)
#   pfadd      PFADD of a random member
#   pfcount    PFCOUNT of that HyperLogLog (its cache, for redis-server)
#   geoadd     GEOADD of a random member (1000 names) at one point
#   geosearch  GEOSEARCH ... BYRADIUS 50 km COUNT 10 ASC around that point
TYPE_KEY=__bench_types
GEO_MEMBERS=1000

is_type_row() { case $1 in setbit | bitcount | pfadd | pfcount | geoadd | geosearch) return 0 ;; esac; return 1; }

type_row_label() { # test
  case $1 in
    setbit) echo "SETBIT (random key)" ;;
    bitcount) echo "BITCOUNT" ;;
    pfadd) echo "PFADD (random member)" ;;
    pfcount) echo "PFCOUNT" ;;
    geoadd) echo "GEOADD (random member)" ;;
    geosearch) echo "GEOSEARCH BYRADIUS COUNT 10" ;;
  esac
}

run_type_row() { # side test pipeline n base
  local side=$1 test=$2 pipeline=$3 n=$4 base=$5 port=${SIDE_PORT[$1]} range=$KEYSPACE
  local -a cmd
  case $test in
    setbit) cmd=(setbit "$TYPE_KEY:bits:__rand_int__" 1000 1) ;;
    bitcount) cmd=(bitcount "$TYPE_KEY:bits:__rand_int__") ;;
    pfadd) cmd=(pfadd "$TYPE_KEY:hll" "m:__rand_int__") ;;
    pfcount) cmd=(pfcount "$TYPE_KEY:hll") ;;
    geoadd) cmd=(geoadd "$TYPE_KEY:geo" 13.361389 38.115556 "m:__rand_int__") range=$GEO_MEMBERS ;;
    geosearch) cmd=(geosearch "$TYPE_KEY:geo" fromlonlat 13.36 38.11 byradius 50 km count 10 asc) ;;
  esac
  RC=0
  run_child "$OUT/raw/$base.csv" "$OUT/raw/$base.err" "$TEST_TIMEOUT" \
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -P "$pipeline" -r "$range" --csv \
    "${cmd[@]}" || RC=$?
  status_from "$RC" "$OUT/raw/$base.csv"
  NOTE="$(type_row_label "$test")"
}
