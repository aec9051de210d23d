import asyncio, os, sys, time
from pathlib import Path
from datetime import datetime, timezone
from monitor.extract.pool import Extractor, ExtractOptions
from monitor.pipeline.offload import with_signature
from monitor.parse.feed import parse_feed
def tree_cpu(root):
    kids={}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try: st=open(f'/proc/{d}/stat').read().rsplit(')',1)[1].split()
            except OSError: continue
            kids.setdefault(int(st[1]),[]).append((int(d),st))
    u=s=0; stack=[root]
    while stack:
        p=stack.pop()
        for pid,st in kids.get(p,[]):
            u+=int(st[11])+int(st[13]); s+=int(st[12])+int(st[14]); stack.append(pid)
    return u/100, s/100
def main():
    pages=[p.read_bytes() for p in sorted(Path('bench/.work/corpus/pages').glob('*.html'))]
    feeds=[p.read_bytes() for p in sorted(Path('bench/.work/corpus/feeds').glob('*.xml'))]
    now=datetime.now(timezone.utc)
    async def run():
        e=Extractor(ExtractOptions(workers=2, preload=("monitor.pipeline.workerside",)))
        await e.offload(parse_feed, feeds[0], headers={}, url="http://127.0.0.1/f", fetched_at=now)
        before=tree_cpu(os.getpid())
        sem=asyncio.Semaphore(8)
        async def one_feed(b):
            async with sem: await e.offload(parse_feed, b, headers={}, url="http://127.0.0.1/f", fetched_at=now)
        async def one_page(b):
            async with sem: await e.extract(b, url="http://127.0.0.1/a/b", feed_title="", feed_summary="", after=with_signature)
        await asyncio.gather(*(one_feed(b) for b in feeds), *(one_page(b) for b in pages))
        await asyncio.sleep(0.5)
        tree=tree_cpu(os.getpid())
        print(sys.argv[1:], "workers user/sys", [round(a-b,2) for a,b in zip(tree, before)])
        await e.aclose()
    asyncio.run(run())
if __name__=="__main__": main()
