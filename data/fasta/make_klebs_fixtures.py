# Writes klebs_plasmids.fa (edited: soft-mask, N run, IUPAC R) and klebs_ragged.fa (unequal lines)
# from the pKPHS4/5/6 records of Klebs_HS11286.fna; see README.md. Usage: IN OUT RAGGED
import sys
recs = []  # (header, seq)
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if line.startswith('>'): recs.append([line, []])
    else: recs[-1][1].append(line)
out = open(sys.argv[2], 'w'); ragged = open(sys.argv[3], 'w')
for h, lines in recs:
    s = list(''.join(lines)); name = h.split()[0][1:]
    if name == 'CP003226.1': s[100:400] = [c.lower() for c in s[100:400]]  # 1-based 101-400 soft-masked
    if name == 'CP003227.1': s[1000:1100] = ['N'] * 100                     # 1-based 1001-1100 -> N
    if name == 'CP003228.1': assert s[499] == 'G'; s[499] = 'R'             # 1-based 500 G -> R (A/G)
    s = ''.join(s)
    out.write(h + '\n' + ''.join(s[i:i+80] + '\n' for i in range(0, len(s), 80)))
    if name in ('CP003227.1', 'CP003228.1'):
        ragged.write(h + '\n'); i = 0; k = 0
        while i < len(s):
            w = [80, 50, 110, 70][k % 4]; ragged.write(s[i:i+w] + '\n'); i += w; k += 1
