import sqlite3, datetime, hashlib, time
c=sqlite3.connect("/tmp/plans-sq/before.db")
c.execute("pragma journal_mode=wal"); c.execute("pragma synchronous=off")
base=datetime.datetime(2025,12,1,tzinfo=datetime.timezone.utc)
def ts(d):
    s=d.isoformat()
    return s
c.execute("INSERT INTO support_agents (email, name, password_hash, role, created_at) VALUES ('a@example.com','Agent A','x','admin',?)",(ts(base),))
subj=['refund','delivery','invoice','password','coupon','shipping','damaged','tracking']
pri=['low','medium','high','urgent']; live=['open','assigned','in_progress','resolved']
rows=[]
for g in range(1,1000001):
    d=ts(base+datetime.timedelta(seconds=30*g))
    status = live[g%4] if g>990000 else 'closed'
    sup = None if (g>990000 and g%4==0) else 1
    n = 10 if g>900000 else 0
    rows.append((f"Order {g} {subj[g%8]}", status, pri[(g//7)%4], f"sess-{g}", f"user{g}@example.com", f"Visitor {g}", d, d, n, n, sup))
    if len(rows)==50000:
        c.executemany("INSERT INTO support_tickets (subject,status,priority,session_id,user_email,user_name,created_at,updated_at,last_seq,last_public_seq,supporter_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows); rows=[]
w1=['hello','my','order','has','not','arrived','yet','can','you','check','the','tracking','number','please','thanks','refund','parcel','damaged','invoice','address']
w2=['where','is','package','shipped','last','week','still','waiting','for','delivery','status','update','coupon','code','expired','wrong','size','return','label','today']
w3=['kind','regards','best','cheers','thank','you','so','much','bye','now']
rows=[]
for t in range(900001,1000001):
    for s in range(1,11):
        d=ts(base+datetime.timedelta(seconds=30*t+5*s))
        msg=f"{w1[(t*7+s*3)%20]} {w2[(t*13+s)%20]} {hashlib.md5(f'{t}-{s}'.encode()).hexdigest()} {w3[(t+s)%10]}"
        user = s%2==1
        rows.append((t,s,s,'user' if user else 'supporter', None if user else 1, 'x', msg, 0 if (t>990000 and s>=9) else 1, d))
    if len(rows)>=50000:
        c.executemany("INSERT INTO support_messages (ticket_id,seq,public_seq,sender_type,sender_id,sender_name,message,is_read,created_at) VALUES (?,?,?,?,?,?,?,?,?)", rows); rows=[]
c.executemany("INSERT INTO support_messages (ticket_id,seq,public_seq,sender_type,sender_id,sender_name,message,is_read,created_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
c.commit()
c.execute("ANALYZE"); c.commit()
print("ok")
