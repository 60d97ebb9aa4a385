# The PNGs of bench/compare/run.sh, from the medians summarize.py writes:
#   gnuplot -e "data='DIR'; plots='docs'" bench/compare/plot.gp
set terminal pngcairo size 1000,540 noenhanced font "sans,10"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside bottom center horizontal
set grid ytics
set xtics nomirror
set ytics nomirror
set datafile separator "\t"
set logscale y
set format y "%.0s%c"
set linetype 1 lc rgb "#2b6cb0"
set linetype 2 lc rgb "#9aa5b1"
set linetype 3 lc rgb "#d64545"

set output plots."/compare-appends.png"
set title "Durable appends, events/s (median of the rounds; log scale; higher is better)"
set ylabel "events/s"
plot data."/plot-appends.tsv" using 2:xtic(1) title "Cairn", \
     "" using 3 title "PostgreSQL", \
     "" using 4 title "Redis Streams"

set output plots."/compare-reads.png"
set title "Reads, events/s (median of the rounds; log scale; higher is better)"
plot data."/plot-reads.tsv" using 2:xtic(1) title "Cairn", \
     "" using 3 title "PostgreSQL", \
     "" using 4 title "Redis Streams"

set output plots."/compare-latency.png"
set title "Append latency, and subscription delivery from the ack, ms (median of the rounds; log scale; lower is better)"
set ylabel "ms"
set format y "%g"
plot data."/plot-latency.tsv" using 2:xtic(1) title "Cairn", \
     "" using 3 title "PostgreSQL", \
     "" using 4 title "Redis Streams"
