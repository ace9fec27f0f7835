SELECT a FROM t WHERE b = ? AND c = '?' -- ?
 AND d IN (?, ?) /* ? */ AND e = "?"