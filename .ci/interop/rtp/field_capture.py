#!/usr/bin/env python3
"""field_capture.py OUT.pcapng [MIRROR.pcap]: writes a capture shaped like the field's, by hand (no peer
needed): pcapng with Linux cooked (SLL) headers as `tcpdump -i any` takes it; SIP over TCP
(IPv4) with the 200 OK split over two segments; the media over IPv6 with an 802.1Q tag left in
the cooked header; RTCP SR+SDES multiplexed on the RTP port (a=rtcp-mux, RFC 5761); one
direction with 0-3 ms of jitter, one lost packet and an SSRC change (new SSRC and sequence)
half way. rtp-analyze must find the three streams from the SDP and agree with tshark's
rtp,streams on each. MIRROR.pcap, if named: a call seen through cloud traffic mirroring, every
frame (SIP over UDP, RTP both ways, one loss, 0-4 ms of jitter) inside VXLAN (UDP 4789)."""
import sys
import struct, ipaddress
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2), b))
    while s>>16: s=(s&0xffff)+(s>>16)
    return (~s)&0xffff
def ip4(src,dst,proto,l4):
    h=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(l4),0,0x4000,64,proto,0,ipaddress.ip_address(src).packed,ipaddress.ip_address(dst).packed)
    h=h[:10]+struct.pack('!H',csum(h))+h[12:]
    return h+l4, 0x0800
def ip6(src,dst,proto,l4):
    return struct.pack('!IHBB16s16s',0x60000000,len(l4),proto,64,ipaddress.ip_address(src).packed,ipaddress.ip_address(dst).packed)+l4, 0x86dd
def pseudo(src,dst,proto,l4):
    a=ipaddress.ip_address(src).packed; b=ipaddress.ip_address(dst).packed
    if len(a)==4: return a+b+struct.pack('!BBH',0,proto,len(l4))
    return a+b+struct.pack('!IxxxB',len(l4),proto)
def udp(src,sp,dst,dp,payload):
    l4=struct.pack('!HHHH',sp,dp,8+len(payload),0)+payload
    c=csum(pseudo(src,dst,17,l4)+l4) or 0xffff
    l4=l4[:6]+struct.pack('!H',c)+l4[8:]
    return (ip6 if ':' in src else ip4)(src,dst,17,l4)
def tcp(src,sp,dst,dp,seq,payload):
    l4=struct.pack('!HHIIBBHHH',sp,dp,seq,1,0x50,0x18,65535,0,0)+payload
    c=csum(pseudo(src,dst,6,l4)+l4)
    l4=l4[:16]+struct.pack('!H',c)+l4[18:]
    return (ip6 if ':' in src else ip4)(src,dst,6,l4)
def sll(pkt_et, vlan=None):
    pkt,et=pkt_et
    h=struct.pack('!HHH8s',4,1,6,b'\x02\0\0\0\0\x01\0\0')
    if vlan is not None: return h+struct.pack('!HHH',0x8100,vlan,et)+pkt
    return h+struct.pack('!H',et)+pkt
def rtp(pt,seq,ts,ssrc,payload,m=False):
    return struct.pack('!BBHII',0x80,(0x80 if m else 0)|pt,seq,ts,ssrc)+payload
def sip(first,ip,port,transport='TCP'):
    net='IP6' if ':' in ip else 'IP4'
    tp='' if transport=='UDP' else ';transport=tcp'
    sdp=f"v=0\r\no=- 7 1 IN {net} {ip}\r\ns=-\r\nc=IN {net} {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\n"
    return (f"{first}\r\nVia: SIP/2.0/{transport} 10.0.0.1:40123;branch=z9hG4bKx\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: rw@example.com\r\nCSeq: 1 INVITE\r\nContact: <sip:a@10.0.0.1:40123{tp}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}").encode()
frames=[]
t=1795000000.0
A,B='2001:db8:1::10','2001:db8:2::20'
inv=sip('INVITE sip:b@203.0.113.9 SIP/2.0',A,16384); ok=sip('SIP/2.0 200 OK',B,30000)
frames.append((t,sll(tcp('10.0.0.1',40123,'203.0.113.9',5060,1000,inv))))
frames.append((t+0.04,sll(tcp('203.0.113.9',5060,'10.0.0.1',40123,77000,ok[:120]))))
frames.append((t+0.04,sll(tcp('203.0.113.9',5060,'10.0.0.1',40123,77120,ok[120:]))))
for i in range(200):
    t+=0.02
    jit=[0,0.001,0.003,0.001][i%4]
    frames.append((t,sll(udp(A,16384,B,30000,rtp(0,500+i,160*i,0x0A0A0001,b'\xff'*160,i==0)),20)))
    ssrc,seq=(0x0B0B0001,100+i) if i<100 else (0x0B0B0002,9000+i)
    if i!=150: frames.append((t+0.003+jit,sll(udp(B,30000,A,16384,rtp(0,seq&0xffff,800000+160*i,ssrc,b'\xd5'*160,i in (0,100))),20)))
    if i%50==49:
        sr=struct.pack('!BBHIIIIII',0x80,200,6,0x0A0A0001,0xEB2A0000+i,0x80000000,160*i,i,160*i)+struct.pack('!BBHI',0x81,202,3,0x0A0A0001)+b'\x01\x05a@b.c\0\0\0'
        frames.append((t,sll(udp(A,16384,B,30000,sr),20)))
def blk(bt,body):
    body+=b'\0'*((-len(body))%4); L=12+len(body)
    return struct.pack('<II',bt,L)+body+struct.pack('<I',L)
out=blk(0x0A0D0D0A,struct.pack('<IHHq',0x1A2B3C4D,1,0,-1))+blk(1,struct.pack('<HHI',113,0,262144))
for ts,f in frames:
    us=int(round(ts*1e6))
    out+=blk(6,struct.pack('<IIIII',0,us>>32,us&0xffffffff,len(f),len(f))+f)
open(sys.argv[1], 'wb').write(out)

if len(sys.argv) > 2:
    def eth(pkt_et):
        pkt,et=pkt_et
        return b'\x02\0\0\0\0\x02\x02\0\0\0\0\x01'+struct.pack('!H',et)+pkt
    def vxlan(frame):
        return eth(udp('172.31.0.5',51000,'172.31.0.9',4789,b'\x08\0\0\0\0\0\x07\0'+frame))
    frames=[]
    t=1795000000.0
    A,B='10.9.0.1','10.9.0.2'
    inv=sip('INVITE sip:b@10.9.0.2 SIP/2.0',A,16384,'UDP'); ok=sip('SIP/2.0 200 OK',B,30000,'UDP')
    frames.append((t,vxlan(eth(udp(A,5060,B,5060,inv)))))
    frames.append((t+0.04,vxlan(eth(udp(B,5060,A,5060,ok)))))
    for i in range(150):
        t+=0.02
        jit=[0,0.001,0.004,0.002][i%4]
        if i!=70: frames.append((t+jit,vxlan(eth(udp(A,16384,B,30000,rtp(0,500+i,160*i,0x0A0A0001,b'\xff'*160,i==0))))))
        frames.append((t,vxlan(eth(udp(B,30000,A,16384,rtp(8,9000+i,4000+160*i,0x0B0B0001,b'\xd5'*160,i==0))))))
    out=struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1)
    for ts,f in frames:
        us=int(round(ts*1e6))
        out+=struct.pack('<IIII',us//1000000,us%1000000,len(f),len(f))+f
    open(sys.argv[2], 'wb').write(out)
