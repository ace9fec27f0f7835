"""Rows of the observation-list import template (docs/cases.md "Import and
export") for the benches: N people spread over the given region codes,
written as the template's xlsx by openpyxl and as the same rows in CSV (the
sqlite3 .import reference). Names are drawn like real ones (a surname and
one or two given characters), not numbered: the name's search tokens are
written per person, and a numbered name has twice a real one's.

Usage: obs_rows.py N REGION[,REGION...] OUT.xlsx OUT.csv
"""
import datetime
import os
import random
import sys
import zipfile

import openpyxl

n, regions, out, csv = int(sys.argv[1]), sys.argv[2].split(','), sys.argv[3], sys.argv[4]
rnd = random.Random(9)
SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'
GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文红玉梅志鹏飞宇浩然子涵欣怡梓轩雨婷思远晨阳佳琪俊杰嘉怡'
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
C = '10X98765432'
# China's date, two days ago: inside every kind's period, never in the future
start = (datetime.datetime.utcnow() + datetime.timedelta(hours=8) - datetime.timedelta(days=2)).strftime('%Y-%m-%d')
KINDS = ['居家隔离', '居家医学观察']
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet('观察对象')
ws.append(['姓名*', '证件类型*', '证件号码*', '性别', '联系电话*', '现住址', '所属区划*', '管控措施*', '隔离开始日期*'])
with open(csv, 'w') as f:
    for i in range(n):
        # 1,000 people a birth day from 1950 on: unique, valid checksums
        body = '110101' + (datetime.date(1950, 1, 1) + datetime.timedelta(days=i // 1000)).strftime('%Y%m%d') + '%03d' % (i % 1000)
        idn = body + C[sum(int(a) * b for a, b in zip(body, W)) % 11]
        name = rnd.choice(SURNAMES) + ''.join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2, 2))))
        row = [name, '居民身份证', idn, '', '138%08d' % i, '', regions[i % len(regions)], KINDS[i % 2], start]
        ws.append(row)
        f.write(','.join(row) + '\n')
wb.save(out)

# The sheet's size declared as Excel and WPS declare it (<dimension>, which
# openpyxl's write-only mode leaves out): the upload's check reads only the
# first rows of a file that declares its size (docs/cases.md "The import").
tmp = out + '.tmp'
with zipfile.ZipFile(out) as zin, zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        data = zin.read(item.filename)
        if item.filename == 'xl/worksheets/sheet1.xml':
            data = data.replace(b'</sheetPr>', b'</sheetPr><dimension ref="A1:I%d"/>' % (n + 1), 1)
        zout.writestr(item, data)
os.replace(tmp, out)
