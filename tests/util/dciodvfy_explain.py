# Which dciodvfy "missing/empty attribute" errors over a package's DICOMDIR no packed source
# explains: for each `Element|Module` pair, prints it unless a source behind a record of that
# module itself lacks (or leaves empty) that element. pydicom, not our scan, reads the sources.
# argv: DICOMDIR, MANIFEST.JSN, comma-separated Element|Module pairs. Run in the pack's cwd
# (the manifest's source paths are as the command was given them).
import sys, json, pydicom
dicomdir, manifest, wanted = sys.argv[1], sys.argv[2], [w for w in sys.argv[3].split(',') if w]
sources = {i['path']: i['source']['path'] for i in json.load(open(manifest))['instances']}
by_type = {}
for rec in pydicom.dcmread(dicomdir).DirectoryRecordSequence:
    ref = rec.get('ReferencedFileID')
    if ref is None:
        continue
    path = '/'.join(ref) if not isinstance(ref, str) else ref
    by_type.setdefault(rec.DirectoryRecordType.replace(' ', '').upper(), []).append(sources[path])
alias = {'ENCAPSULATEDDOCUMENT': 'ENCAPDOC', 'KEYOBJECTDOCUMENT': 'KEYOBJECTDOC'}
levels = {'PATIENT', 'STUDY', 'SERIES'}
cache = {}
def lacks(src, key):
    ds = cache.get(src) or cache.setdefault(src, pydicom.dcmread(src, force=True))
    return not str(ds.get(key, '') or '').strip()
for w in wanted:
    key, module = w.split('|')
    m = module.replace('DirectoryRecord', '').upper()
    m = alias.get(m, m)
    if m in levels:
        candidates = [s for v in by_type.values() for s in v]
    else:
        candidates = by_type.get(m, [])
    if not any(lacks(s, key) for s in candidates):
        print(f'{key} in {module}')
