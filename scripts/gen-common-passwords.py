#!/usr/bin/env python3
"""Generate src/security/common_passwords.inc, the list of common passwords
that password_policy refuses (issue 8, security item 9).

Origin, honestly: this list is NOT taken from a leaked password corpus (the
machine that wrote it had no network access). It is built here from the
patterns that every published analysis of leaked passwords, Chinese sites
included (the 2011 CSDN/Tianya leaks are the classic studies), puts at the
top: digit runs and repeats, keyboard walks, `password`/`admin`/`qwerty`
and friends with digits, years and a symbol, and Chinese pinyin favourites
(woaini1314, 5201314, a123456, qq123456...). Only entries of 8 or more
characters are kept: shorter ones fail the length rule anyway. Entries are
lower case; the check lower-cases the password first, so "Password123!"
matches "password123!".

Run: scripts/gen-common-passwords.py > src/security/common_passwords.inc
"""
import itertools

words = """
password passw0rd p@ssword p@ssw0rd pass pa55word pa55w0rd passwd
admin admin1 administrator adm root rootroot super superuser superman
manager system sysadmin test tester testing user guest login welcome
letmein changeme default secret master monkey dragon shadow sunshine
princess football baseball iloveyou trustno1 whatever freedom hello
qwerty qwertyuiop qwer qwert qwer1234 asdf asdfgh asdfghjkl zxcv zxcvbnm
qazwsx qweasd qweasdzxc 1qaz2wsx 1q2w3e4r 1q2w3e 1qaz zaq1 zaq12wsx
1qazxsw2 qwe asd zxc abc abcd abcde abcdef abc123 a1b2c3 aa a aaa
woaini woaini1314 woaini520 aini iloveu wo520 woshishui nihao nihaoma
zhongguo china beijing shanghai shenzhen guangzhou wuhan tianjin
huawei xiaomi baidu taobao alibaba tencent qq weixin wechat wangyi
fangkong yiqing fangyi zhengfu jiankang hesuan kouzhao shequ
zhangwei wangwei lina liuyang wanglei zhangjie
love lovely loveme ilove caonima wodemima mima mimamima
computer internet server oracle mysql database
""".split()

suffixes = [""] + """
1 12 123 1234 12345 123456 1234567 12345678 123456789 0 00 000 01 11 111
1111 520 521 666 888 8888 999 1314 5201314 007 2020 2021 2022 2023 2024
! !! @ # . _ * ? 123! 123. @123 #123 _123 123@ 1234! @1234 !@# !@#$ 1!
@2020 @2021 @2022 @2023 @2024 @2025 @2026 2025 2026 123456! 123456.
""".split()

years = [str(y) for y in range(1970, 2031)]
# the words people most often pair with a year
year_words = """password passw0rd p@ssw0rd admin root test qwerty abc woaini iloveyou
welcome love china beijing huawei zhongguo fangkong superman dragon monkey""".split()

out = set()

def add(pw):
    pw = pw.lower()
    if len(pw) >= 8 and all(33 <= ord(c) < 127 for c in pw):
        out.add(pw)

for w, s in itertools.product(words, suffixes):
    add(w + s)
    if s and s[0].isdigit():
        add(s + w)
for w, y in itertools.product(year_words, years):
    add(w + y)
    add(w + "@" + y)
    add(w + y + "!")
    add(w + "." + y)

# digit runs, repeats and favourites
digits = "0123456789"
for n in range(8, 13):
    add((digits * 2)[1:1 + n])          # 12345678...
    add((digits * 2)[0:n])              # 01234567...
    add("9876543210"[:n] if n <= 10 else "98765432109"[:n])
for d in digits:
    for n in range(8, 13):
        add(d * n)
for a, b in itertools.permutations(digits, 2):
    add((a + b) * 4)
    add((a + b) * 5)
    add((a + a + b + b) * 2)
for a in "abcdefghijklmnopqrstuvwxyz":
    add(a * 8)
    add(a + "12345678")
    add(a + "1234567")
    add(a + "123456")
    add(a + "123456789")
    add(a + a + "123456")
    add(a + "5201314")
    add("123456" + a + a)
    add("123456" + a)
    add(a + a + a + "123456")
for pre in ["qq", "wo", "w", "a", "aa", "zz", "z", "x", "woai", "ai", "zxc", "qwe", "asd", "abc"]:
    for body in ["123456", "1234567", "12345678", "123456789", "5201314", "1314520", "520520",
                 "1314", "666666", "888888", "147258", "147258369", "159357", "123123", "112233"]:
        add(pre + body)
        add(body + pre)
for body in ["5201314", "1314520", "52013140", "5201314520", "1314521", "147258369", "1472583690",
             "159357258", "123123123", "123321123", "112233445566", "11223344", "12344321",
             "1234554321", "123654789", "147852369", "741852963", "963852741", "321654987",
             "13141314", "52105210", "5211314", "20082008", "19491001", "77777777", "31415926",
             "314159265", "1qaz2wsx3edc", "1qaz@wsx", "!qaz2wsx", "!qaz@wsx", "1qaz!qaz",
             "qwertyui", "asdfghjk", "zxcvbnm,", "qazwsxedc", "qweasdzxc123", "1q2w3e4r5t",
             "1q2w3e4r5t6y", "q1w2e3r4", "q1w2e3r4t5", "a1s2d3f4", "z1x2c3v4", "zaq!2wsx",
             "p@$$w0rd", "p@$$word", "pa$$w0rd", "pa$$word", "admin@123", "admin#123",
             "admin!@#", "admin@2024", "root@123", "root!@#", "test@123", "abc@123",
             "abcd@1234", "abc123456", "abcd1234", "abcd12345", "abc12345", "aa123456",
             "a1234567", "a12345678", "woaini1314", "woaini520", "woaini521", "wo5201314",
             "iloveyou1314", "qq123456789", "123456qq", "123456abc", "123456aa", "123qwe",
             "123qweasd", "123qweasdzxc", "qwe123456", "qwe123!@#", "qwe!@#123", "asd123456",
             "zxc123456", "zxcvbnm123", "qwerty123", "qwerty123!", "qwerty12345"]:
    add(body)
    add(body + "!")
    add(body[:1].upper() + body[1:] + "!")

lines = sorted(out)
print("/* Generated by scripts/gen-common-passwords.py: common passwords built from")
print(" * well-known patterns (not a leaked corpus), lower case, sorted (bytewise) for")
print(" * bsearch. Do not edit: change the script and run it again. */")
for pw in lines:
    esc = pw.replace("\\", "\\\\").replace('"', '\\"').replace("?", "\\?")
    print(f'"{esc}",')
