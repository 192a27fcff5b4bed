SET DECIMAL=DOT.

DATA LIST FILE= "foreign_spss.txt"  free (",")
ENCODING="Locale"
/ resp_id stratum psu weight * violence (F8.0) age 
  .

VARIABLE LABELS
resp_id "resp_id" 
 stratum "stratum" 
 psu "psu" 
 weight "weight" 
 violence "violence" 
 age "age" 
 .

VALUE LABELS
/
violence 
1 "Yes" 
 2 "No" 
.
VARIABLE LEVEL resp_id, stratum, psu, weight, age 
 (scale).

EXECUTE.
