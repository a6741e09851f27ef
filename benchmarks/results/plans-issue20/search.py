import sqlite3, time, random, subprocess, re, statistics, hashlib, sys
random.seed(7)
S=open('/tmp/select.sql').read().strip()
pats=["refund","tracking number","parcel","Visitor 99512","user95001@","coupon code","zzzq-none","thank you","arrived yet","Order 99"]
pats+= [hashlib.md5(f"{random.randint(900001,1000000)}-{random.randint(1,10)}".encode()).hexdigest()[i:i+6] for i in range(0,30,1)][:30]
pats+=["ab","9","x"]
def like(p): return "%"+p.replace("\\","\\\\").replace("%","\\%").replace("_","\\_")+"%"
R="t.queue_rank"
def holds(lp, esc="'\\'"):
    return (f"(LOWER(t.subject) LIKE LOWER({lp}) ESCAPE {esc} OR LOWER(t.user_name) LIKE LOWER({lp}) ESCAPE {esc} OR LOWER(COALESCE(t.user_email, '')) LIKE LOWER({lp}) ESCAPE {esc} "
            f"OR EXISTS (SELECT 1 FROM support_messages sm WHERE sm.ticket_id = t.id AND LOWER(sm.message) LIKE LOWER({lp}) ESCAPE {esc}))")
phaseA=lambda lp: f"{S} WHERE 1 = 1 AND t.id IN (SELECT t.id FROM support_tickets t WHERE 1 = 1 ORDER BY {R}, t.id LIMIT 2000) AND {holds(lp)} ORDER BY {R}, t.id LIMIT 51"
c=sqlite3.connect("/tmp/plans-sq/after.db")
sq=[]
for p in pats:
    t=time.time()
    rows=c.execute(phaseA(":p"),{"p":like(p)}).fetchall()
    if len(rows)<51:
        if len(p)>=3:
            q=f"{S} WHERE 1 = 1 AND t.id IN (SELECT rowid FROM support_tickets_search WHERE support_tickets_search MATCH :ph UNION SELECT m.ticket_id FROM support_messages m WHERE m.id IN (SELECT rowid FROM support_messages_search WHERE support_messages_search MATCH :ph)) ORDER BY {R}, t.id LIMIT 51"
        else:
            q=f"{S} WHERE 1 = 1 AND t.id IN (SELECT id FROM support_tickets WHERE LOWER(subject) LIKE LOWER(:p) ESCAPE '\\' OR LOWER(user_name) LIKE LOWER(:p) ESCAPE '\\' OR LOWER(COALESCE(user_email, '')) LIKE LOWER(:p) ESCAPE '\\' UNION SELECT ticket_id FROM support_messages WHERE LOWER(message) LIKE LOWER(:p) ESCAPE '\\') ORDER BY {R}, t.id LIMIT 51"
        rows=c.execute(q,{"ph":'"'+p.replace('"','""')+'"',"p":like(p)}).fetchall()
    sq.append(((time.time()-t)*1000,p,len(rows)))
pg=[]
def psql(sql):
    out=subprocess.run(["psql","-h","127.0.0.1","-U","postgres","plans","-At"],input="\\timing on\n"+sql,capture_output=True,text=True).stdout
    ms=float(re.findall(r"Time: ([0-9.]+) ms",out)[-1]); n=len([l for l in out.splitlines() if l and not l.startswith("Time") and not l.startswith("Timing")])
    return ms,n
for p in pats:
    lp="'"+like(p).replace("'","''")+"'"
    ms,n=psql(phaseA(lp)+";")
    if n<51:
        ms2,n=psql(f"{S} WHERE 1 = 1 AND t.id IN (SELECT s.ticket_id FROM support_ticket_search s WHERE s.subject ILIKE {lp} ESCAPE '\\' OR s.user_name ILIKE {lp} ESCAPE '\\' OR s.user_email ILIKE {lp} ESCAPE '\\' UNION SELECT m.ticket_id FROM support_messages m WHERE m.message ILIKE {lp} ESCAPE '\\') ORDER BY {R}, t.id LIMIT 51;")
        ms+=ms2
    pg.append((ms,p,n))
def q(v,f): v=sorted(v); return v[min(len(v)-1,int(round(f*(len(v))))-1)]
for name,v in [("SQLite",sq),("PostgreSQL",pg)]:
    t=[x[0] for x in v]
    print(f"| {name} | {len(t)} | {statistics.median(t):.1f} | {q(t,0.95):.1f} | {max(t):.1f} | {', '.join(f'{p!r} {ms:.0f}' for ms,p,n in sorted(v)[-3:])} |")
