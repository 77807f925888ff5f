; netc dump lenet5.yaml --stage llvm --batch 1, target x86_64-unknown-linux-gnu vector=256 threads=2
; ===== k1_conv1 (netc_k_4a88004ef79f4858711e)
; ModuleID = "k1_conv1"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k1_conv1.body"(i8* %"services", i8* noalias %"relu1|conv1", i8* noalias %"image", i8* noalias %"conv1.weight", i8* noalias %"conv1.bias", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"gemm.args" = alloca [16 x i64]
  %"a.view" = alloca [3 x i64]
  %"b.view" = alloca [3 x i64]
  br label %"start"
start:
  %"relu1" = bitcast i8* %"relu1|conv1" to float*
  %"conv1" = bitcast i8* %"relu1|conv1" to float*
  %"image.1" = bitcast i8* %"image" to float*
  %"conv1.weight.1" = bitcast i8* %"conv1.weight" to float*
  %"conv1.bias.1" = bitcast i8* %"conv1.bias" to float*
  %".11" = mul i64 %"thread", 1436800
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  %"image.2" = sdiv i64 %"task", 4
  %"chunk" = srem i64 %"task", 4
  %".13" = mul i64 %"chunk", 49
  %".14" = sdiv i64 %".13", 4
  %".15" = mul i64 %".14", 16
  %".16" = add i64 %"chunk", 1
  %".17" = mul i64 %".16", 49
  %".18" = sdiv i64 %".17", 4
  %".19" = mul i64 %".18", 16
  %".20" = icmp slt i64 %".19", 784
  %".21" = select  i1 %".20", i64 %".19", i64 784
  %".22" = getelementptr i8, i8* %".12", i64 1171840
  %"scratch" = bitcast i8* %".22" to float*
  %".23" = mul i64 %"image.2", 4704
  %".24" = getelementptr float, float* %"conv1", i64 %".23"
  br label %"bo.loop"
bo.loop:
  %"bo" = phi  i64 [0, %"start"], [%"bo.next", %"bp.done"]
  %".26" = icmp slt i64 %"bo", 6
  br i1 %".26", label %"bo.body", label %"bo.done"
bo.body:
  br label %"bp.loop"
bo.done:
  %".43" = sdiv i64 %".15", 28
  %".44" = sub i64 %".21", 1
  %".45" = sdiv i64 %".44", 28
  %".46" = add i64 %".45", 5
  %".47" = icmp slt i64 %".46", 32
  %".48" = select  i1 %".47", i64 %".46", i64 32
  %".49" = mul i64 %"image.2", 784
  %".50" = getelementptr float, float* %"image.1", i64 %".49"
  %".51" = getelementptr i8, i8* %".12", i64 1171840
  %"scratch.1" = bitcast i8* %".51" to float*
  %"padded" = getelementptr float, float* %"scratch.1", i64 65208
  br label %"pc.loop"
bp.loop:
  %"bp" = phi  i64 [%".15", %"bo.body"], [%"bp.next", %"bp.body"]
  %".29" = icmp slt i64 %"bp", %".21"
  br i1 %".29", label %"bp.body", label %"bp.done"
bp.body:
  %".31" = sdiv i64 %"bp", 28
  %".32" = srem i64 %"bp", 28
  %".33" = mul i64 %"bo", 784
  %".34" = mul i64 %".31", 28
  %".35" = add i64 %".34", %".32"
  %".36" = add i64 %".33", %".35"
  %".37" = getelementptr float, float* %"conv1.bias.1", i64 %"bo"
  %".38" = load float, float* %".37"
  %".39" = getelementptr float, float* %".24", i64 %".36"
  store float %".38", float* %".39"
  %"bp.next" = add i64 %"bp", 1
  br label %"bp.loop"
bp.done:
  %"bo.next" = add i64 %"bo", 1
  br label %"bo.loop"
pc.loop:
  %"pc" = phi  i64 [0, %"bo.done"], [%"pc.next", %"pi.done"]
  %".53" = icmp slt i64 %"pc", 1
  br i1 %".53", label %"pc.body", label %"pc.done"
pc.body:
  br label %"pi.loop"
pc.done:
  br label %"p0.loop"
pi.loop:
  %"pi" = phi  i64 [%".43", %"pc.body"], [%"pi.next", %"pi.body.endif"]
  %".56" = icmp slt i64 %"pi", %".48"
  br i1 %".56", label %"pi.body", label %"pi.done"
pi.body:
  %".58" = mul i64 %"pc", 32
  %".59" = add i64 %".58", %"pi"
  %".60" = mul i64 %".59", 32
  %".61" = getelementptr float, float* %"padded", i64 %".60"
  %".62" = sub i64 %"pi", 2
  %".63" = icmp sge i64 %".62", 0
  %".64" = icmp slt i64 %".62", 28
  %".65" = and i1 %".63", %".64"
  br i1 %".65", label %"pi.body.if", label %"pi.body.else"
pi.done:
  %"pc.next" = add i64 %"pc", 1
  br label %"pc.loop"
pi.body.if:
  %".67" = mul i64 %"pc", 784
  %".68" = mul i64 %".62", 28
  %".69" = add i64 %".68", -2
  %".70" = add i64 %".67", %".69"
  %".71" = getelementptr float, float* %".50", i64 %".70"
  br label %"pz0.loop"
pi.body.else:
  br label %"pz.loop"
pi.body.endif:
  %"pi.next" = add i64 %"pi", 1
  br label %"pi.loop"
pz0.loop:
  %"pz0" = phi  i64 [0, %"pi.body.if"], [%"pz0.next", %"pz0.body"]
  %".73" = icmp slt i64 %"pz0", 2
  br i1 %".73", label %"pz0.body", label %"pz0.done"
pz0.body:
  %".75" = getelementptr float, float* %".61", i64 %"pz0"
  store float              0x0, float* %".75"
  %"pz0.next" = add i64 %"pz0", 1
  br label %"pz0.loop"
pz0.done:
  br label %"pcp.loop"
pcp.loop:
  %"pcp" = phi  i64 [2, %"pz0.done"], [%"pcp.next", %"pcp.body"]
  %".79" = icmp slt i64 %"pcp", 30
  br i1 %".79", label %"pcp.body", label %"pcp.done"
pcp.body:
  %".81" = getelementptr float, float* %".71", i64 %"pcp"
  %".82" = load float, float* %".81"
  %".83" = getelementptr float, float* %".61", i64 %"pcp"
  store float %".82", float* %".83"
  %"pcp.next" = add i64 %"pcp", 1
  br label %"pcp.loop"
pcp.done:
  br label %"pz1.loop"
pz1.loop:
  %"pz1" = phi  i64 [30, %"pcp.done"], [%"pz1.next", %"pz1.body"]
  %".87" = icmp slt i64 %"pz1", 32
  br i1 %".87", label %"pz1.body", label %"pz1.done"
pz1.body:
  %".89" = getelementptr float, float* %".61", i64 %"pz1"
  store float              0x0, float* %".89"
  %"pz1.next" = add i64 %"pz1", 1
  br label %"pz1.loop"
pz1.done:
  br label %"pi.body.endif"
pz.loop:
  %"pz" = phi  i64 [0, %"pi.body.else"], [%"pz.next", %"pz.body"]
  %".94" = icmp slt i64 %"pz", 32
  br i1 %".94", label %"pz.body", label %"pz.done"
pz.body:
  %".96" = getelementptr float, float* %".61", i64 %"pz"
  store float              0x0, float* %".96"
  %"pz.next" = add i64 %"pz", 1
  br label %"pz.loop"
pz.done:
  br label %"pi.body.endif"
p0.loop:
  %"p0" = phi  i64 [%".15", %"pc.done"], [%"p0.next", %"r.done"]
  %".103" = icmp slt i64 %"p0", %".21"
  br i1 %".103", label %"p0.body", label %"p0.done"
p0.body:
  %".105" = add i64 %"p0", 208
  %".106" = icmp slt i64 %".105", %".21"
  %".107" = select  i1 %".106", i64 %".105", i64 %".21"
  %".108" = sub i64 %".107", %"p0"
  br label %"r.loop"
p0.done:
  %".253" = add i64 %"image.2", 1
  br label %"e0.loop"
r.loop:
  %"r" = phi  i64 [0, %"p0.body"], [%"r.next", %"oy.done"]
  %".110" = icmp slt i64 %"r", 25
  br i1 %".110", label %"r.body", label %"r.done"
r.body:
  %"c" = sdiv i64 %"r", 25
  %".112" = srem i64 %"r", 25
  %"ky" = sdiv i64 %".112", 5
  %"kx" = srem i64 %".112", 5
  %".113" = add i64 0, %"c"
  %".114" = mul i64 %".113", 1024
  %".115" = mul i64 %"ky", 32
  %".116" = add i64 %".115", %"kx"
  %".117" = add i64 %".114", %".116"
  %".118" = getelementptr float, float* %"padded", i64 %".117"
  %".119" = mul i64 %"r", %".108"
  %".120" = sub i64 %".119", %"p0"
  %".121" = getelementptr float, float* %"scratch", i64 %".120"
  %".122" = sdiv i64 %"p0", 28
  %".123" = sub i64 %".107", 1
  %".124" = sdiv i64 %".123", 28
  %".125" = add i64 %".124", 1
  br label %"oy.loop"
r.done:
  %".184" = sub i64 %".107", %"p0"
  %".185" = getelementptr float, float* %".24", i64 %"p0"
  %".186" = getelementptr float, float* %"conv1.weight.1", i64 0
  %".187" = ptrtoint float* %".186" to i64
  %".188" = getelementptr [3 x i64], [3 x i64]* %"a.view", i64 0, i64 0
  store i64 %".187", i64* %".188"
  %".190" = getelementptr [3 x i64], [3 x i64]* %"a.view", i64 0, i64 1
  store i64 25, i64* %".190"
  %".192" = getelementptr [3 x i64], [3 x i64]* %"a.view", i64 0, i64 2
  store i64 1, i64* %".192"
  %".194" = bitcast [3 x i64]* %"a.view" to i8*
  %".195" = ptrtoint float* %"scratch" to i64
  %".196" = getelementptr [3 x i64], [3 x i64]* %"b.view", i64 0, i64 0
  store i64 %".195", i64* %".196"
  %".198" = getelementptr [3 x i64], [3 x i64]* %"b.view", i64 0, i64 1
  store i64 %".184", i64* %".198"
  %".200" = getelementptr [3 x i64], [3 x i64]* %"b.view", i64 0, i64 2
  store i64 1, i64* %".200"
  %".202" = bitcast [3 x i64]* %"b.view" to i8*
  %".203" = bitcast i8* %"services" to i8**
  %".204" = getelementptr i8*, i8** %".203", i64 3
  %"pack_a_strided_f32" = load i8*, i8** %".204"
  %".205" = bitcast i8* %"pack_a_strided_f32" to void (i8*, float*, i64, i64, i64, i64)*
  %".206" = bitcast i8* %"services" to i8**
  %".207" = getelementptr i8*, i8** %".206", i64 4
  %"pack_b_strided_f32" = load i8*, i8** %".207"
  %".208" = bitcast i8* %"pack_b_strided_f32" to void (i8*, float*, i64, i64, i64, i64)*
  %".209" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 0
  store i64 6, i64* %".209"
  %".211" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 1
  store i64 %".184", i64* %".211"
  %".213" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 2
  store i64 25, i64* %".213"
  %".215" = ptrtoint i8* %".194" to i64
  %".216" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 3
  store i64 %".215", i64* %".216"
  %".218" = ptrtoint void (i8*, float*, i64, i64, i64, i64)* %".205" to i64
  %".219" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 4
  store i64 %".218", i64* %".219"
  %".221" = ptrtoint i8* %".202" to i64
  %".222" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 5
  store i64 %".221", i64* %".222"
  %".224" = ptrtoint void (i8*, float*, i64, i64, i64, i64)* %".208" to i64
  %".225" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 6
  store i64 %".224", i64* %".225"
  %".227" = ptrtoint float* %".185" to i64
  %".228" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 7
  store i64 %".227", i64* %".228"
  %".230" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 8
  store i64 784, i64* %".230"
  %".232" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 9
  store i64 1, i64* %".232"
  %".234" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 10
  store i64 0, i64* %".234"
  %".236" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 11
  store i64 %".184", i64* %".236"
  %".238" = ptrtoint i8* %".12" to i64
  %".239" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 12
  store i64 %".238", i64* %".239"
  %".241" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 13
  store i64 1, i64* %".241"
  %".243" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 14
  store i64 0, i64* %".243"
  %".245" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 15
  store i64 0, i64* %".245"
  %".247" = bitcast i8* %"services" to i8**
  %".248" = getelementptr i8*, i8** %".247", i64 1
  %"gemm_f32" = load i8*, i8** %".248"
  %".249" = bitcast i8* %"gemm_f32" to void (i64*)*
  %".250" = bitcast [16 x i64]* %"gemm.args" to i64*
  call void %".249"(i64* %".250")
  %"p0.next" = add i64 %"p0", 208
  br label %"p0.loop"
oy.loop:
  %"oy" = phi  i64 [%".122", %"r.body"], [%"oy.next", %"oy.body.endif"]
  %".127" = icmp slt i64 %"oy", %".125"
  br i1 %".127", label %"oy.body", label %"oy.done"
oy.body:
  %".129" = mul i64 %"oy", 28
  %".130" = sub i64 %"p0", %".129"
  %".131" = icmp sgt i64 %".130", 0
  %".132" = select  i1 %".131", i64 %".130", i64 0
  %".133" = sub i64 %".107", %".129"
  %".134" = icmp slt i64 %".133", 28
  %".135" = select  i1 %".134", i64 %".133", i64 28
  %".136" = add i64 %".129", %".132"
  %".137" = getelementptr float, float* %".121", i64 %".136"
  %".138" = mul i64 %"oy", 32
  %".139" = add i64 %".138", %".132"
  %".140" = getelementptr float, float* %".118", i64 %".139"
  %".141" = icmp eq i64 %".132", 0
  %".142" = icmp eq i64 %".135", 28
  %".143" = and i1 %".141", %".142"
  br i1 %".143", label %"oy.body.if", label %"oy.body.else"
oy.done:
  %"r.next" = add i64 %"r", 1
  br label %"r.loop"
oy.body.if:
  %".145" = getelementptr float, float* %".140", i64 0
  %".146" = bitcast float* %".145" to <8 x float>*
  %".147" = load <8 x float>, <8 x float>* %".146", align 4
  %".148" = getelementptr float, float* %".137", i64 0
  %".149" = bitcast float* %".148" to <8 x float>*
  store <8 x float> %".147", <8 x float>* %".149", align 4
  %".151" = getelementptr float, float* %".140", i64 8
  %".152" = bitcast float* %".151" to <8 x float>*
  %".153" = load <8 x float>, <8 x float>* %".152", align 4
  %".154" = getelementptr float, float* %".137", i64 8
  %".155" = bitcast float* %".154" to <8 x float>*
  store <8 x float> %".153", <8 x float>* %".155", align 4
  %".157" = getelementptr float, float* %".140", i64 16
  %".158" = bitcast float* %".157" to <8 x float>*
  %".159" = load <8 x float>, <8 x float>* %".158", align 4
  %".160" = getelementptr float, float* %".137", i64 16
  %".161" = bitcast float* %".160" to <8 x float>*
  store <8 x float> %".159", <8 x float>* %".161", align 4
  %".163" = getelementptr float, float* %".140", i64 24
  %".164" = bitcast float* %".163" to <8 x float>*
  %".165" = load <8 x float>, <8 x float>* %".164", align 4
  %".166" = getelementptr float, float* %".137", i64 24
  %".167" = bitcast float* %".166" to <8 x float>*
  store <8 x float> %".165", <8 x float>* %".167", align 4
  br label %"oy.body.endif"
oy.body.else:
  %".170" = sub i64 %".135", %".132"
  br label %"v.loop"
oy.body.endif:
  %"oy.next" = add i64 %"oy", 1
  br label %"oy.loop"
v.loop:
  %"v" = phi  i64 [0, %"oy.body.else"], [%"v.next", %"v.body"]
  %".172" = icmp slt i64 %"v", %".170"
  br i1 %".172", label %"v.body", label %"v.done"
v.body:
  %".174" = getelementptr float, float* %".140", i64 %"v"
  %".175" = bitcast float* %".174" to <8 x float>*
  %".176" = load <8 x float>, <8 x float>* %".175", align 4
  %".177" = getelementptr float, float* %".137", i64 %"v"
  %".178" = bitcast float* %".177" to <8 x float>*
  store <8 x float> %".176", <8 x float>* %".178", align 4
  %"v.next" = add i64 %"v", 8
  br label %"v.loop"
v.done:
  br label %"oy.body.endif"
e0.loop:
  %"e0" = phi  i64 [%"image.2", %"p0.done"], [%"e0.next", %"e1.done"]
  %".255" = icmp slt i64 %"e0", %".253"
  br i1 %".255", label %"e0.body", label %"e0.done"
e0.body:
  br label %"e1.loop"
e0.done:
  ret void
e1.loop:
  %"e1" = phi  i64 [0, %"e0.body"], [%"e1.next", %"e2.done"]
  %".258" = icmp slt i64 %"e1", 6
  br i1 %".258", label %"e1.body", label %"e1.done"
e1.body:
  br label %"e2.loop"
e1.done:
  %"e0.next" = add i64 %"e0", 1
  br label %"e0.loop"
e2.loop:
  %"e2" = phi  i64 [%".15", %"e1.body"], [%"e2.next", %"e2.body"]
  %".261" = icmp slt i64 %"e2", %".21"
  br i1 %".261", label %"e2.body", label %"e2.done"
e2.body:
  %".263" = mul i64 %"e0", 4704
  %".264" = mul i64 %"e1", 784
  %".265" = add i64 %".263", %".264"
  %".266" = add i64 %".265", %"e2"
  %".267" = getelementptr float, float* %"conv1", i64 %".266"
  %"conv1.1" = load float, float* %".267"
  %".268" = fcmp olt float %"conv1.1",              0x0
  %".269" = select  i1 %".268", float              0x0, float %"conv1.1"
  %".270" = getelementptr float, float* %"relu1", i64 %".266"
  store float %".269", float* %".270"
  %"e2.next" = add i64 %"e2", 1
  br label %"e2.loop"
e2.done:
  %"e1.next" = add i64 %"e1", 1
  br label %"e1.loop"
}

define void @"netc_k_4a88004ef79f4858711e"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k1_conv1.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== k2_pool1 (netc_k_54c86f34c5c7a0ebf21c)
; ModuleID = "k2_pool1"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k2_pool1.body"(i8* noalias %"relu1", i8* noalias %"pool1", i64 %"task", i64 %"thread")
{
entry:
  %"best" = alloca float
  br label %"start"
start:
  %"relu1.1" = bitcast i8* %"relu1" to float*
  %"pool1.1" = bitcast i8* %"pool1" to float*
  br label %"unit.loop"
unit.loop:
  %"unit" = phi  i64 [0, %"start"], [%"unit.next", %"oy.done"]
  %".8" = icmp slt i64 %"unit", 6
  br i1 %".8", label %"unit.body", label %"unit.done"
unit.body:
  %"n" = sdiv i64 %"unit", 6
  %"c" = srem i64 %"unit", 6
  %".10" = mul i64 %"n", 4704
  %".11" = mul i64 %"c", 784
  %".12" = add i64 %".10", %".11"
  %".13" = mul i64 %"n", 1176
  %".14" = mul i64 %"c", 196
  %".15" = add i64 %".13", %".14"
  br label %"oy.loop"
unit.done:
  ret void
oy.loop:
  %"oy" = phi  i64 [0, %"unit.body"], [%"oy.next", %"ox.done"]
  %".17" = icmp slt i64 %"oy", 14
  br i1 %".17", label %"oy.body", label %"oy.done"
oy.body:
  br label %"ox.loop"
oy.done:
  %"unit.next" = add i64 %"unit", 1
  br label %"unit.loop"
ox.loop:
  %"ox" = phi  i64 [0, %"oy.body"], [%"ox.next", %"ox.body"]
  %".20" = icmp slt i64 %"ox", 14
  br i1 %".20", label %"ox.body", label %"ox.done"
ox.body:
  %".22" = mul i64 %"oy", 2
  %".23" = mul i64 %"ox", 2
  %".24" = mul i64 %".22", 28
  %".25" = add i64 %".24", %".23"
  %".26" = add i64 %".12", %".25"
  %".27" = getelementptr float, float* %"relu1.1", i64 %".26"
  %".28" = load float, float* %".27"
  %".29" = mul i64 %"ox", 2
  %".30" = add i64 %".29", 1
  %".31" = mul i64 %".22", 28
  %".32" = add i64 %".31", %".30"
  %".33" = add i64 %".12", %".32"
  %".34" = getelementptr float, float* %"relu1.1", i64 %".33"
  %".35" = load float, float* %".34"
  %".36" = mul i64 %"oy", 2
  %".37" = add i64 %".36", 1
  %".38" = mul i64 %"ox", 2
  %".39" = mul i64 %".37", 28
  %".40" = add i64 %".39", %".38"
  %".41" = add i64 %".12", %".40"
  %".42" = getelementptr float, float* %"relu1.1", i64 %".41"
  %".43" = load float, float* %".42"
  %".44" = mul i64 %"ox", 2
  %".45" = add i64 %".44", 1
  %".46" = mul i64 %".37", 28
  %".47" = add i64 %".46", %".45"
  %".48" = add i64 %".12", %".47"
  %".49" = getelementptr float, float* %"relu1.1", i64 %".48"
  %".50" = load float, float* %".49"
  %".51" = fcmp ogt float %".35", %".28"
  %".52" = fcmp uno float %".35", %".35"
  %".53" = or i1 %".51", %".52"
  %".54" = select  i1 %".53", float %".35", float %".28"
  %".55" = fcmp ogt float %".43", %".54"
  %".56" = fcmp uno float %".43", %".43"
  %".57" = or i1 %".55", %".56"
  %".58" = select  i1 %".57", float %".43", float %".54"
  %".59" = fcmp ogt float %".50", %".58"
  %".60" = fcmp uno float %".50", %".50"
  %".61" = or i1 %".59", %".60"
  %".62" = select  i1 %".61", float %".50", float %".58"
  %".63" = mul i64 %"oy", 14
  %".64" = add i64 %".63", %"ox"
  %".65" = add i64 %".15", %".64"
  %".66" = getelementptr float, float* %"pool1.1", i64 %".65"
  store float %".62", float* %".66"
  %"ox.next" = add i64 %"ox", 1
  br label %"ox.loop"
ox.done:
  %"oy.next" = add i64 %"oy", 1
  br label %"oy.loop"
}

define void @"netc_k_54c86f34c5c7a0ebf21c"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  call void @"k2_pool1.body"(i8* %".7", i8* %".9", i64 %".2", i64 %".3")
  ret void
}
; ===== k3_conv2 (netc_k_3414b7335606c1af85cd)
; ModuleID = "k3_conv2"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k3_conv2.body"(i8* %"services", i8* noalias %"relu2|conv2", i8* noalias %"pool1", i8* noalias %"conv2.weight", i8* noalias %"conv2.bias", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"gemm.args" = alloca [16 x i64]
  %"a.view" = alloca [3 x i64]
  %"b.view" = alloca [3 x i64]
  br label %"start"
start:
  %"relu2" = bitcast i8* %"relu2|conv2" to float*
  %"conv2" = bitcast i8* %"relu2|conv2" to float*
  %"pool1.1" = bitcast i8* %"pool1" to float*
  %"conv2.weight.1" = bitcast i8* %"conv2.weight" to float*
  %"conv2.bias.1" = bitcast i8* %"conv2.bias" to float*
  %".11" = mul i64 %"thread", 1435808
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  %"image" = sdiv i64 %"task", 4
  %"chunk" = srem i64 %"task", 4
  %".13" = mul i64 %"chunk", 7
  %".14" = sdiv i64 %".13", 4
  %".15" = mul i64 %".14", 16
  %".16" = add i64 %"chunk", 1
  %".17" = mul i64 %".16", 7
  %".18" = sdiv i64 %".17", 4
  %".19" = mul i64 %".18", 16
  %".20" = icmp slt i64 %".19", 100
  %".21" = select  i1 %".20", i64 %".19", i64 100
  %".22" = getelementptr i8, i8* %".12", i64 1171840
  %"scratch" = bitcast i8* %".22" to float*
  %".23" = mul i64 %"image", 1600
  %".24" = getelementptr float, float* %"conv2", i64 %".23"
  br label %"bo.loop"
bo.loop:
  %"bo" = phi  i64 [0, %"start"], [%"bo.next", %"bp.done"]
  %".26" = icmp slt i64 %"bo", 16
  br i1 %".26", label %"bo.body", label %"bo.done"
bo.body:
  br label %"bp.loop"
bo.done:
  %".43" = sdiv i64 %".15", 10
  %".44" = sub i64 %".21", 1
  %".45" = sdiv i64 %".44", 10
  %".46" = add i64 %".45", 5
  %".47" = icmp slt i64 %".46", 14
  %".48" = select  i1 %".47", i64 %".46", i64 14
  %".49" = mul i64 %"image", 1176
  %".50" = getelementptr float, float* %"pool1.1", i64 %".49"
  %".51" = getelementptr i8, i8* %".12", i64 1171840
  %"scratch.1" = bitcast i8* %".51" to float*
  %"padded" = getelementptr float, float* %"scratch.1", i64 64808
  br label %"pc.loop"
bp.loop:
  %"bp" = phi  i64 [%".15", %"bo.body"], [%"bp.next", %"bp.body"]
  %".29" = icmp slt i64 %"bp", %".21"
  br i1 %".29", label %"bp.body", label %"bp.done"
bp.body:
  %".31" = sdiv i64 %"bp", 10
  %".32" = srem i64 %"bp", 10
  %".33" = mul i64 %"bo", 100
  %".34" = mul i64 %".31", 10
  %".35" = add i64 %".34", %".32"
  %".36" = add i64 %".33", %".35"
  %".37" = getelementptr float, float* %"conv2.bias.1", i64 %"bo"
  %".38" = load float, float* %".37"
  %".39" = getelementptr float, float* %".24", i64 %".36"
  store float %".38", float* %".39"
  %"bp.next" = add i64 %"bp", 1
  br label %"bp.loop"
bp.done:
  %"bo.next" = add i64 %"bo", 1
  br label %"bo.loop"
pc.loop:
  %"pc" = phi  i64 [0, %"bo.done"], [%"pc.next", %"pi.done"]
  %".53" = icmp slt i64 %"pc", 6
  br i1 %".53", label %"pc.body", label %"pc.done"
pc.body:
  br label %"pi.loop"
pc.done:
  br label %"p0.loop"
pi.loop:
  %"pi" = phi  i64 [%".43", %"pc.body"], [%"pi.next", %"pi.body.endif"]
  %".56" = icmp slt i64 %"pi", %".48"
  br i1 %".56", label %"pi.body", label %"pi.done"
pi.body:
  %".58" = mul i64 %"pc", 14
  %".59" = add i64 %".58", %"pi"
  %".60" = mul i64 %".59", 14
  %".61" = getelementptr float, float* %"padded", i64 %".60"
  %".62" = icmp sge i64 %"pi", 0
  %".63" = icmp slt i64 %"pi", 14
  %".64" = and i1 %".62", %".63"
  br i1 %".64", label %"pi.body.if", label %"pi.body.else"
pi.done:
  %"pc.next" = add i64 %"pc", 1
  br label %"pc.loop"
pi.body.if:
  %".66" = mul i64 %"pc", 196
  %".67" = mul i64 %"pi", 14
  %".68" = add i64 %".66", %".67"
  %".69" = getelementptr float, float* %".50", i64 %".68"
  br label %"pz0.loop"
pi.body.else:
  br label %"pz.loop"
pi.body.endif:
  %"pi.next" = add i64 %"pi", 1
  br label %"pi.loop"
pz0.loop:
  %"pz0" = phi  i64 [0, %"pi.body.if"], [%"pz0.next", %"pz0.body"]
  %".71" = icmp slt i64 %"pz0", 0
  br i1 %".71", label %"pz0.body", label %"pz0.done"
pz0.body:
  %".73" = getelementptr float, float* %".61", i64 %"pz0"
  store float              0x0, float* %".73"
  %"pz0.next" = add i64 %"pz0", 1
  br label %"pz0.loop"
pz0.done:
  br label %"pcp.loop"
pcp.loop:
  %"pcp" = phi  i64 [0, %"pz0.done"], [%"pcp.next", %"pcp.body"]
  %".77" = icmp slt i64 %"pcp", 14
  br i1 %".77", label %"pcp.body", label %"pcp.done"
pcp.body:
  %".79" = getelementptr float, float* %".69", i64 %"pcp"
  %".80" = load float, float* %".79"
  %".81" = getelementptr float, float* %".61", i64 %"pcp"
  store float %".80", float* %".81"
  %"pcp.next" = add i64 %"pcp", 1
  br label %"pcp.loop"
pcp.done:
  br label %"pz1.loop"
pz1.loop:
  %"pz1" = phi  i64 [14, %"pcp.done"], [%"pz1.next", %"pz1.body"]
  %".85" = icmp slt i64 %"pz1", 14
  br i1 %".85", label %"pz1.body", label %"pz1.done"
pz1.body:
  %".87" = getelementptr float, float* %".61", i64 %"pz1"
  store float              0x0, float* %".87"
  %"pz1.next" = add i64 %"pz1", 1
  br label %"pz1.loop"
pz1.done:
  br label %"pi.body.endif"
pz.loop:
  %"pz" = phi  i64 [0, %"pi.body.else"], [%"pz.next", %"pz.body"]
  %".92" = icmp slt i64 %"pz", 14
  br i1 %".92", label %"pz.body", label %"pz.done"
pz.body:
  %".94" = getelementptr float, float* %".61", i64 %"pz"
  store float              0x0, float* %".94"
  %"pz.next" = add i64 %"pz", 1
  br label %"pz.loop"
pz.done:
  br label %"pi.body.endif"
p0.loop:
  %"p0" = phi  i64 [%".15", %"pc.done"], [%"p0.next", %"r.done"]
  %".101" = icmp slt i64 %"p0", %".21"
  br i1 %".101", label %"p0.body", label %"p0.done"
p0.body:
  %".103" = add i64 %"p0", 32
  %".104" = icmp slt i64 %".103", %".21"
  %".105" = select  i1 %".104", i64 %".103", i64 %".21"
  %".106" = sub i64 %".105", %"p0"
  br label %"r.loop"
p0.done:
  %".239" = add i64 %"image", 1
  br label %"e0.loop"
r.loop:
  %"r" = phi  i64 [0, %"p0.body"], [%"r.next", %"oy.done"]
  %".108" = icmp slt i64 %"r", 150
  br i1 %".108", label %"r.body", label %"r.done"
r.body:
  %"c" = sdiv i64 %"r", 25
  %".110" = srem i64 %"r", 25
  %"ky" = sdiv i64 %".110", 5
  %"kx" = srem i64 %".110", 5
  %".111" = add i64 0, %"c"
  %".112" = mul i64 %".111", 196
  %".113" = mul i64 %"ky", 14
  %".114" = add i64 %".113", %"kx"
  %".115" = add i64 %".112", %".114"
  %".116" = getelementptr float, float* %"padded", i64 %".115"
  %".117" = mul i64 %"r", %".106"
  %".118" = sub i64 %".117", %"p0"
  %".119" = getelementptr float, float* %"scratch", i64 %".118"
  %".120" = sdiv i64 %"p0", 10
  %".121" = sub i64 %".105", 1
  %".122" = sdiv i64 %".121", 10
  %".123" = add i64 %".122", 1
  br label %"oy.loop"
r.done:
  %".170" = sub i64 %".105", %"p0"
  %".171" = getelementptr float, float* %".24", i64 %"p0"
  %".172" = getelementptr float, float* %"conv2.weight.1", i64 0
  %".173" = ptrtoint float* %".172" to i64
  %".174" = getelementptr [3 x i64], [3 x i64]* %"a.view", i64 0, i64 0
  store i64 %".173", i64* %".174"
  %".176" = getelementptr [3 x i64], [3 x i64]* %"a.view", i64 0, i64 1
  store i64 150, i64* %".176"
  %".178" = getelementptr [3 x i64], [3 x i64]* %"a.view", i64 0, i64 2
  store i64 1, i64* %".178"
  %".180" = bitcast [3 x i64]* %"a.view" to i8*
  %".181" = ptrtoint float* %"scratch" to i64
  %".182" = getelementptr [3 x i64], [3 x i64]* %"b.view", i64 0, i64 0
  store i64 %".181", i64* %".182"
  %".184" = getelementptr [3 x i64], [3 x i64]* %"b.view", i64 0, i64 1
  store i64 %".170", i64* %".184"
  %".186" = getelementptr [3 x i64], [3 x i64]* %"b.view", i64 0, i64 2
  store i64 1, i64* %".186"
  %".188" = bitcast [3 x i64]* %"b.view" to i8*
  %".189" = bitcast i8* %"services" to i8**
  %".190" = getelementptr i8*, i8** %".189", i64 3
  %"pack_a_strided_f32" = load i8*, i8** %".190"
  %".191" = bitcast i8* %"pack_a_strided_f32" to void (i8*, float*, i64, i64, i64, i64)*
  %".192" = bitcast i8* %"services" to i8**
  %".193" = getelementptr i8*, i8** %".192", i64 4
  %"pack_b_strided_f32" = load i8*, i8** %".193"
  %".194" = bitcast i8* %"pack_b_strided_f32" to void (i8*, float*, i64, i64, i64, i64)*
  %".195" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 0
  store i64 16, i64* %".195"
  %".197" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 1
  store i64 %".170", i64* %".197"
  %".199" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 2
  store i64 150, i64* %".199"
  %".201" = ptrtoint i8* %".180" to i64
  %".202" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 3
  store i64 %".201", i64* %".202"
  %".204" = ptrtoint void (i8*, float*, i64, i64, i64, i64)* %".191" to i64
  %".205" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 4
  store i64 %".204", i64* %".205"
  %".207" = ptrtoint i8* %".188" to i64
  %".208" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 5
  store i64 %".207", i64* %".208"
  %".210" = ptrtoint void (i8*, float*, i64, i64, i64, i64)* %".194" to i64
  %".211" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 6
  store i64 %".210", i64* %".211"
  %".213" = ptrtoint float* %".171" to i64
  %".214" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 7
  store i64 %".213", i64* %".214"
  %".216" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 8
  store i64 100, i64* %".216"
  %".218" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 9
  store i64 1, i64* %".218"
  %".220" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 10
  store i64 0, i64* %".220"
  %".222" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 11
  store i64 %".170", i64* %".222"
  %".224" = ptrtoint i8* %".12" to i64
  %".225" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 12
  store i64 %".224", i64* %".225"
  %".227" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 13
  store i64 1, i64* %".227"
  %".229" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 14
  store i64 0, i64* %".229"
  %".231" = getelementptr [16 x i64], [16 x i64]* %"gemm.args", i64 0, i64 15
  store i64 0, i64* %".231"
  %".233" = bitcast i8* %"services" to i8**
  %".234" = getelementptr i8*, i8** %".233", i64 1
  %"gemm_f32" = load i8*, i8** %".234"
  %".235" = bitcast i8* %"gemm_f32" to void (i64*)*
  %".236" = bitcast [16 x i64]* %"gemm.args" to i64*
  call void %".235"(i64* %".236")
  %"p0.next" = add i64 %"p0", 32
  br label %"p0.loop"
oy.loop:
  %"oy" = phi  i64 [%".120", %"r.body"], [%"oy.next", %"oy.body.endif"]
  %".125" = icmp slt i64 %"oy", %".123"
  br i1 %".125", label %"oy.body", label %"oy.done"
oy.body:
  %".127" = mul i64 %"oy", 10
  %".128" = sub i64 %"p0", %".127"
  %".129" = icmp sgt i64 %".128", 0
  %".130" = select  i1 %".129", i64 %".128", i64 0
  %".131" = sub i64 %".105", %".127"
  %".132" = icmp slt i64 %".131", 10
  %".133" = select  i1 %".132", i64 %".131", i64 10
  %".134" = add i64 %".127", %".130"
  %".135" = getelementptr float, float* %".119", i64 %".134"
  %".136" = mul i64 %"oy", 14
  %".137" = add i64 %".136", %".130"
  %".138" = getelementptr float, float* %".116", i64 %".137"
  %".139" = icmp eq i64 %".130", 0
  %".140" = icmp eq i64 %".133", 10
  %".141" = and i1 %".139", %".140"
  br i1 %".141", label %"oy.body.if", label %"oy.body.else"
oy.done:
  %"r.next" = add i64 %"r", 1
  br label %"r.loop"
oy.body.if:
  %".143" = getelementptr float, float* %".138", i64 0
  %".144" = bitcast float* %".143" to <8 x float>*
  %".145" = load <8 x float>, <8 x float>* %".144", align 4
  %".146" = getelementptr float, float* %".135", i64 0
  %".147" = bitcast float* %".146" to <8 x float>*
  store <8 x float> %".145", <8 x float>* %".147", align 4
  %".149" = getelementptr float, float* %".138", i64 8
  %".150" = bitcast float* %".149" to <8 x float>*
  %".151" = load <8 x float>, <8 x float>* %".150", align 4
  %".152" = getelementptr float, float* %".135", i64 8
  %".153" = bitcast float* %".152" to <8 x float>*
  store <8 x float> %".151", <8 x float>* %".153", align 4
  br label %"oy.body.endif"
oy.body.else:
  %".156" = sub i64 %".133", %".130"
  br label %"v.loop"
oy.body.endif:
  %"oy.next" = add i64 %"oy", 1
  br label %"oy.loop"
v.loop:
  %"v" = phi  i64 [0, %"oy.body.else"], [%"v.next", %"v.body"]
  %".158" = icmp slt i64 %"v", %".156"
  br i1 %".158", label %"v.body", label %"v.done"
v.body:
  %".160" = getelementptr float, float* %".138", i64 %"v"
  %".161" = bitcast float* %".160" to <8 x float>*
  %".162" = load <8 x float>, <8 x float>* %".161", align 4
  %".163" = getelementptr float, float* %".135", i64 %"v"
  %".164" = bitcast float* %".163" to <8 x float>*
  store <8 x float> %".162", <8 x float>* %".164", align 4
  %"v.next" = add i64 %"v", 8
  br label %"v.loop"
v.done:
  br label %"oy.body.endif"
e0.loop:
  %"e0" = phi  i64 [%"image", %"p0.done"], [%"e0.next", %"e1.done"]
  %".241" = icmp slt i64 %"e0", %".239"
  br i1 %".241", label %"e0.body", label %"e0.done"
e0.body:
  br label %"e1.loop"
e0.done:
  ret void
e1.loop:
  %"e1" = phi  i64 [0, %"e0.body"], [%"e1.next", %"e2.done"]
  %".244" = icmp slt i64 %"e1", 16
  br i1 %".244", label %"e1.body", label %"e1.done"
e1.body:
  br label %"e2.loop"
e1.done:
  %"e0.next" = add i64 %"e0", 1
  br label %"e0.loop"
e2.loop:
  %"e2" = phi  i64 [%".15", %"e1.body"], [%"e2.next", %"e2.body"]
  %".247" = icmp slt i64 %"e2", %".21"
  br i1 %".247", label %"e2.body", label %"e2.done"
e2.body:
  %".249" = mul i64 %"e0", 1600
  %".250" = mul i64 %"e1", 100
  %".251" = add i64 %".249", %".250"
  %".252" = add i64 %".251", %"e2"
  %".253" = getelementptr float, float* %"conv2", i64 %".252"
  %"conv2.1" = load float, float* %".253"
  %".254" = fcmp olt float %"conv2.1",              0x0
  %".255" = select  i1 %".254", float              0x0, float %"conv2.1"
  %".256" = getelementptr float, float* %"relu2", i64 %".252"
  store float %".255", float* %".256"
  %"e2.next" = add i64 %"e2", 1
  br label %"e2.loop"
e2.done:
  %"e1.next" = add i64 %"e1", 1
  br label %"e1.loop"
}

define void @"netc_k_3414b7335606c1af85cd"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k3_conv2.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== k4_pool2 (netc_k_07d4020f3cd497849c25)
; ModuleID = "k4_pool2"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k4_pool2.body"(i8* noalias %"relu2", i8* noalias %"pool2", i64 %"task", i64 %"thread")
{
entry:
  %"best" = alloca float
  br label %"start"
start:
  %"relu2.1" = bitcast i8* %"relu2" to float*
  %"pool2.1" = bitcast i8* %"pool2" to float*
  br label %"unit.loop"
unit.loop:
  %"unit" = phi  i64 [0, %"start"], [%"unit.next", %"oy.done"]
  %".8" = icmp slt i64 %"unit", 16
  br i1 %".8", label %"unit.body", label %"unit.done"
unit.body:
  %"n" = sdiv i64 %"unit", 16
  %"c" = srem i64 %"unit", 16
  %".10" = mul i64 %"n", 1600
  %".11" = mul i64 %"c", 100
  %".12" = add i64 %".10", %".11"
  %".13" = mul i64 %"n", 400
  %".14" = mul i64 %"c", 25
  %".15" = add i64 %".13", %".14"
  br label %"oy.loop"
unit.done:
  ret void
oy.loop:
  %"oy" = phi  i64 [0, %"unit.body"], [%"oy.next", %"ox.done"]
  %".17" = icmp slt i64 %"oy", 5
  br i1 %".17", label %"oy.body", label %"oy.done"
oy.body:
  br label %"ox.loop"
oy.done:
  %"unit.next" = add i64 %"unit", 1
  br label %"unit.loop"
ox.loop:
  %"ox" = phi  i64 [0, %"oy.body"], [%"ox.next", %"ox.body"]
  %".20" = icmp slt i64 %"ox", 5
  br i1 %".20", label %"ox.body", label %"ox.done"
ox.body:
  %".22" = mul i64 %"oy", 2
  %".23" = mul i64 %"ox", 2
  %".24" = mul i64 %".22", 10
  %".25" = add i64 %".24", %".23"
  %".26" = add i64 %".12", %".25"
  %".27" = getelementptr float, float* %"relu2.1", i64 %".26"
  %".28" = load float, float* %".27"
  %".29" = mul i64 %"ox", 2
  %".30" = add i64 %".29", 1
  %".31" = mul i64 %".22", 10
  %".32" = add i64 %".31", %".30"
  %".33" = add i64 %".12", %".32"
  %".34" = getelementptr float, float* %"relu2.1", i64 %".33"
  %".35" = load float, float* %".34"
  %".36" = mul i64 %"oy", 2
  %".37" = add i64 %".36", 1
  %".38" = mul i64 %"ox", 2
  %".39" = mul i64 %".37", 10
  %".40" = add i64 %".39", %".38"
  %".41" = add i64 %".12", %".40"
  %".42" = getelementptr float, float* %"relu2.1", i64 %".41"
  %".43" = load float, float* %".42"
  %".44" = mul i64 %"ox", 2
  %".45" = add i64 %".44", 1
  %".46" = mul i64 %".37", 10
  %".47" = add i64 %".46", %".45"
  %".48" = add i64 %".12", %".47"
  %".49" = getelementptr float, float* %"relu2.1", i64 %".48"
  %".50" = load float, float* %".49"
  %".51" = fcmp ogt float %".35", %".28"
  %".52" = fcmp uno float %".35", %".35"
  %".53" = or i1 %".51", %".52"
  %".54" = select  i1 %".53", float %".35", float %".28"
  %".55" = fcmp ogt float %".43", %".54"
  %".56" = fcmp uno float %".43", %".43"
  %".57" = or i1 %".55", %".56"
  %".58" = select  i1 %".57", float %".43", float %".54"
  %".59" = fcmp ogt float %".50", %".58"
  %".60" = fcmp uno float %".50", %".50"
  %".61" = or i1 %".59", %".60"
  %".62" = select  i1 %".61", float %".50", float %".58"
  %".63" = mul i64 %"oy", 5
  %".64" = add i64 %".63", %"ox"
  %".65" = add i64 %".15", %".64"
  %".66" = getelementptr float, float* %"pool2.1", i64 %".65"
  store float %".62", float* %".66"
  %"ox.next" = add i64 %"ox", 1
  br label %"ox.loop"
ox.done:
  %"oy.next" = add i64 %"oy", 1
  br label %"oy.loop"
}

define void @"netc_k_07d4020f3cd497849c25"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  call void @"k4_pool2.body"(i8* %".7", i8* %".9", i64 %".2", i64 %".3")
  ret void
}
; ===== k5_fc1 (netc_k_fe4b84062c38ae9975cf)
; ModuleID = "k5_fc1"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k5_fc1.body"(i8* %"services", i8* noalias %"relu3|fc1", i8* noalias %"flatten", i8* noalias %"fc1.weight", i8* noalias %"fc1.bias", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"acc0" = alloca <8 x float>
  %"acc1" = alloca <8 x float>
  %"acc2" = alloca <8 x float>
  %"acc3" = alloca <8 x float>
  %"tail" = alloca float
  br label %"start"
start:
  %"relu3" = bitcast i8* %"relu3|fc1" to float*
  %"fc1" = bitcast i8* %"relu3|fc1" to float*
  %"flatten.1" = bitcast i8* %"flatten" to float*
  %"fc1.weight.1" = bitcast i8* %"fc1.weight" to float*
  %"fc1.bias.1" = bitcast i8* %"fc1.bias" to float*
  %".11" = mul i64 %"thread", 1171840
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  %"image" = sdiv i64 %"task", 4
  %"chunk" = srem i64 %"task", 4
  %".13" = mul i64 %"chunk", 8
  %".14" = sdiv i64 %".13", 4
  %".15" = mul i64 %".14", 16
  %".16" = add i64 %"chunk", 1
  %".17" = mul i64 %".16", 8
  %".18" = sdiv i64 %".17", 4
  %".19" = mul i64 %".18", 16
  %".20" = icmp slt i64 %".19", 120
  %".21" = select  i1 %".20", i64 %".19", i64 120
  br label %"j.loop"
j.loop:
  %"j" = phi  i64 [%".15", %"start"], [%"j.next", %"i.done"]
  %".23" = icmp slt i64 %"j", %".21"
  br i1 %".23", label %"j.body", label %"j.done"
j.body:
  br label %"i.loop"
j.done:
  br label %"e0.loop"
i.loop:
  %"i" = phi  i64 [0, %"j.body"], [%"i.next", %"kt.done"]
  %".26" = icmp slt i64 %"i", 1
  br i1 %".26", label %"i.body", label %"i.done"
i.body:
  %".28" = mul i64 %"i", 400
  %".29" = getelementptr float, float* %"flatten.1", i64 %".28"
  %".30" = mul i64 %"j", 400
  %".31" = getelementptr float, float* %"fc1.weight.1", i64 %".30"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc0"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc1"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc2"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc3"
  br label %"k.loop"
i.done:
  %"j.next" = add i64 %"j", 1
  br label %"j.loop"
k.loop:
  %"k" = phi  i64 [0, %"i.body"], [%"k.next", %"k.body"]
  %".37" = icmp slt i64 %"k", 384
  br i1 %".37", label %"k.body", label %"k.done"
k.body:
  %".39" = getelementptr float, float* %".29", i64 %"k"
  %".40" = bitcast float* %".39" to <8 x float>*
  %".41" = load <8 x float>, <8 x float>* %".40", align 4
  %".42" = getelementptr float, float* %".31", i64 %"k"
  %".43" = bitcast float* %".42" to <8 x float>*
  %".44" = load <8 x float>, <8 x float>* %".43", align 4
  %".45" = load <8 x float>, <8 x float>* %"acc0"
  %".46" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".41", <8 x float> %".44", <8 x float> %".45")
  store <8 x float> %".46", <8 x float>* %"acc0"
  %".48" = add i64 %"k", 8
  %".49" = getelementptr float, float* %".29", i64 %".48"
  %".50" = bitcast float* %".49" to <8 x float>*
  %".51" = load <8 x float>, <8 x float>* %".50", align 4
  %".52" = getelementptr float, float* %".31", i64 %".48"
  %".53" = bitcast float* %".52" to <8 x float>*
  %".54" = load <8 x float>, <8 x float>* %".53", align 4
  %".55" = load <8 x float>, <8 x float>* %"acc1"
  %".56" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".51", <8 x float> %".54", <8 x float> %".55")
  store <8 x float> %".56", <8 x float>* %"acc1"
  %".58" = add i64 %"k", 16
  %".59" = getelementptr float, float* %".29", i64 %".58"
  %".60" = bitcast float* %".59" to <8 x float>*
  %".61" = load <8 x float>, <8 x float>* %".60", align 4
  %".62" = getelementptr float, float* %".31", i64 %".58"
  %".63" = bitcast float* %".62" to <8 x float>*
  %".64" = load <8 x float>, <8 x float>* %".63", align 4
  %".65" = load <8 x float>, <8 x float>* %"acc2"
  %".66" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".61", <8 x float> %".64", <8 x float> %".65")
  store <8 x float> %".66", <8 x float>* %"acc2"
  %".68" = add i64 %"k", 24
  %".69" = getelementptr float, float* %".29", i64 %".68"
  %".70" = bitcast float* %".69" to <8 x float>*
  %".71" = load <8 x float>, <8 x float>* %".70", align 4
  %".72" = getelementptr float, float* %".31", i64 %".68"
  %".73" = bitcast float* %".72" to <8 x float>*
  %".74" = load <8 x float>, <8 x float>* %".73", align 4
  %".75" = load <8 x float>, <8 x float>* %"acc3"
  %".76" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".71", <8 x float> %".74", <8 x float> %".75")
  store <8 x float> %".76", <8 x float>* %"acc3"
  %"k.next" = add i64 %"k", 32
  br label %"k.loop"
k.done:
  store float              0x0, float* %"tail"
  br label %"kt.loop"
kt.loop:
  %"kt" = phi  i64 [384, %"k.done"], [%"kt.next", %"kt.body"]
  %".81" = icmp slt i64 %"kt", 400
  br i1 %".81", label %"kt.body", label %"kt.done"
kt.body:
  %".83" = getelementptr float, float* %".29", i64 %"kt"
  %".84" = load float, float* %".83"
  %".85" = getelementptr float, float* %".31", i64 %"kt"
  %".86" = load float, float* %".85"
  %".87" = load float, float* %"tail"
  %".88" = call float @"llvm.fma.f32"(float %".84", float %".86", float %".87")
  store float %".88", float* %"tail"
  %"kt.next" = add i64 %"kt", 1
  br label %"kt.loop"
kt.done:
  %".91" = load <8 x float>, <8 x float>* %"acc0"
  %".92" = load <8 x float>, <8 x float>* %"acc1"
  %".93" = fadd <8 x float> %".91", %".92"
  %".94" = load <8 x float>, <8 x float>* %"acc2"
  %".95" = fadd <8 x float> %".93", %".94"
  %".96" = load <8 x float>, <8 x float>* %"acc3"
  %".97" = fadd <8 x float> %".95", %".96"
  %".98" = load float, float* %"tail"
  %".99" = extractelement <8 x float> %".97", i64 0
  %".100" = fadd float %".98", %".99"
  %".101" = extractelement <8 x float> %".97", i64 1
  %".102" = fadd float %".100", %".101"
  %".103" = extractelement <8 x float> %".97", i64 2
  %".104" = fadd float %".102", %".103"
  %".105" = extractelement <8 x float> %".97", i64 3
  %".106" = fadd float %".104", %".105"
  %".107" = extractelement <8 x float> %".97", i64 4
  %".108" = fadd float %".106", %".107"
  %".109" = extractelement <8 x float> %".97", i64 5
  %".110" = fadd float %".108", %".109"
  %".111" = extractelement <8 x float> %".97", i64 6
  %".112" = fadd float %".110", %".111"
  %".113" = extractelement <8 x float> %".97", i64 7
  %".114" = fadd float %".112", %".113"
  %".115" = getelementptr float, float* %"fc1.bias.1", i64 %"j"
  %".116" = load float, float* %".115"
  %".117" = fadd float %".114", %".116"
  %".118" = mul i64 %"i", 120
  %".119" = add i64 %".118", %"j"
  %".120" = getelementptr float, float* %"fc1", i64 %".119"
  store float %".117", float* %".120"
  %"i.next" = add i64 %"i", 1
  br label %"i.loop"
e0.loop:
  %"e0" = phi  i64 [0, %"j.done"], [%"e0.next", %"e1.done"]
  %".125" = icmp slt i64 %"e0", 1
  br i1 %".125", label %"e0.body", label %"e0.done"
e0.body:
  br label %"e1.loop"
e0.done:
  ret void
e1.loop:
  %"e1" = phi  i64 [%".15", %"e0.body"], [%"e1.next", %"e1.body"]
  %".128" = icmp slt i64 %"e1", %".21"
  br i1 %".128", label %"e1.body", label %"e1.done"
e1.body:
  %".130" = mul i64 %"e0", 120
  %".131" = add i64 %".130", %"e1"
  %".132" = getelementptr float, float* %"fc1", i64 %".131"
  %"fc1.1" = load float, float* %".132"
  %".133" = fcmp olt float %"fc1.1",              0x0
  %".134" = select  i1 %".133", float              0x0, float %"fc1.1"
  %".135" = getelementptr float, float* %"relu3", i64 %".131"
  store float %".134", float* %".135"
  %"e1.next" = add i64 %"e1", 1
  br label %"e1.loop"
e1.done:
  %"e0.next" = add i64 %"e0", 1
  br label %"e0.loop"
}

declare <8 x float> @"llvm.fma.v8f32"(<8 x float> %".1", <8 x float> %".2", <8 x float> %".3")

declare float @"llvm.fma.f32"(float %".1", float %".2", float %".3")

define void @"netc_k_fe4b84062c38ae9975cf"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k5_fc1.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== k6_fc2 (netc_k_54b84496c4dc6e5510d9)
; ModuleID = "k6_fc2"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k6_fc2.body"(i8* %"services", i8* noalias %"relu4|fc2", i8* noalias %"relu3", i8* noalias %"fc2.weight", i8* noalias %"fc2.bias", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"acc0" = alloca <8 x float>
  %"acc1" = alloca <8 x float>
  %"acc2" = alloca <8 x float>
  %"acc3" = alloca <8 x float>
  %"tail" = alloca float
  br label %"start"
start:
  %"relu4" = bitcast i8* %"relu4|fc2" to float*
  %"fc2" = bitcast i8* %"relu4|fc2" to float*
  %"relu3.1" = bitcast i8* %"relu3" to float*
  %"fc2.weight.1" = bitcast i8* %"fc2.weight" to float*
  %"fc2.bias.1" = bitcast i8* %"fc2.bias" to float*
  %".11" = mul i64 %"thread", 1171840
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  br label %"image.loop"
image.loop:
  %"image" = phi  i64 [0, %"start"], [%"image.next", %"e0.done"]
  %".14" = icmp slt i64 %"image", 1
  br i1 %".14", label %"image.body", label %"image.done"
image.body:
  %".16" = mul i64 0, 6
  %".17" = sdiv i64 %".16", 1
  %".18" = mul i64 %".17", 16
  %".19" = add i64 0, 1
  %".20" = mul i64 %".19", 6
  %".21" = sdiv i64 %".20", 1
  %".22" = mul i64 %".21", 16
  %".23" = icmp slt i64 %".22", 84
  %".24" = select  i1 %".23", i64 %".22", i64 84
  br label %"j.loop"
image.done:
  ret void
j.loop:
  %"j" = phi  i64 [%".18", %"image.body"], [%"j.next", %"i.done"]
  %".26" = icmp slt i64 %"j", %".24"
  br i1 %".26", label %"j.body", label %"j.done"
j.body:
  br label %"i.loop"
j.done:
  br label %"e0.loop"
i.loop:
  %"i" = phi  i64 [0, %"j.body"], [%"i.next", %"kt.done"]
  %".29" = icmp slt i64 %"i", 1
  br i1 %".29", label %"i.body", label %"i.done"
i.body:
  %".31" = mul i64 %"i", 120
  %".32" = getelementptr float, float* %"relu3.1", i64 %".31"
  %".33" = mul i64 %"j", 120
  %".34" = getelementptr float, float* %"fc2.weight.1", i64 %".33"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc0"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc1"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc2"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc3"
  br label %"k.loop"
i.done:
  %"j.next" = add i64 %"j", 1
  br label %"j.loop"
k.loop:
  %"k" = phi  i64 [0, %"i.body"], [%"k.next", %"k.body"]
  %".40" = icmp slt i64 %"k", 96
  br i1 %".40", label %"k.body", label %"k.done"
k.body:
  %".42" = getelementptr float, float* %".32", i64 %"k"
  %".43" = bitcast float* %".42" to <8 x float>*
  %".44" = load <8 x float>, <8 x float>* %".43", align 4
  %".45" = getelementptr float, float* %".34", i64 %"k"
  %".46" = bitcast float* %".45" to <8 x float>*
  %".47" = load <8 x float>, <8 x float>* %".46", align 4
  %".48" = load <8 x float>, <8 x float>* %"acc0"
  %".49" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".44", <8 x float> %".47", <8 x float> %".48")
  store <8 x float> %".49", <8 x float>* %"acc0"
  %".51" = add i64 %"k", 8
  %".52" = getelementptr float, float* %".32", i64 %".51"
  %".53" = bitcast float* %".52" to <8 x float>*
  %".54" = load <8 x float>, <8 x float>* %".53", align 4
  %".55" = getelementptr float, float* %".34", i64 %".51"
  %".56" = bitcast float* %".55" to <8 x float>*
  %".57" = load <8 x float>, <8 x float>* %".56", align 4
  %".58" = load <8 x float>, <8 x float>* %"acc1"
  %".59" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".54", <8 x float> %".57", <8 x float> %".58")
  store <8 x float> %".59", <8 x float>* %"acc1"
  %".61" = add i64 %"k", 16
  %".62" = getelementptr float, float* %".32", i64 %".61"
  %".63" = bitcast float* %".62" to <8 x float>*
  %".64" = load <8 x float>, <8 x float>* %".63", align 4
  %".65" = getelementptr float, float* %".34", i64 %".61"
  %".66" = bitcast float* %".65" to <8 x float>*
  %".67" = load <8 x float>, <8 x float>* %".66", align 4
  %".68" = load <8 x float>, <8 x float>* %"acc2"
  %".69" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".64", <8 x float> %".67", <8 x float> %".68")
  store <8 x float> %".69", <8 x float>* %"acc2"
  %".71" = add i64 %"k", 24
  %".72" = getelementptr float, float* %".32", i64 %".71"
  %".73" = bitcast float* %".72" to <8 x float>*
  %".74" = load <8 x float>, <8 x float>* %".73", align 4
  %".75" = getelementptr float, float* %".34", i64 %".71"
  %".76" = bitcast float* %".75" to <8 x float>*
  %".77" = load <8 x float>, <8 x float>* %".76", align 4
  %".78" = load <8 x float>, <8 x float>* %"acc3"
  %".79" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".74", <8 x float> %".77", <8 x float> %".78")
  store <8 x float> %".79", <8 x float>* %"acc3"
  %"k.next" = add i64 %"k", 32
  br label %"k.loop"
k.done:
  store float              0x0, float* %"tail"
  br label %"kt.loop"
kt.loop:
  %"kt" = phi  i64 [96, %"k.done"], [%"kt.next", %"kt.body"]
  %".84" = icmp slt i64 %"kt", 120
  br i1 %".84", label %"kt.body", label %"kt.done"
kt.body:
  %".86" = getelementptr float, float* %".32", i64 %"kt"
  %".87" = load float, float* %".86"
  %".88" = getelementptr float, float* %".34", i64 %"kt"
  %".89" = load float, float* %".88"
  %".90" = load float, float* %"tail"
  %".91" = call float @"llvm.fma.f32"(float %".87", float %".89", float %".90")
  store float %".91", float* %"tail"
  %"kt.next" = add i64 %"kt", 1
  br label %"kt.loop"
kt.done:
  %".94" = load <8 x float>, <8 x float>* %"acc0"
  %".95" = load <8 x float>, <8 x float>* %"acc1"
  %".96" = fadd <8 x float> %".94", %".95"
  %".97" = load <8 x float>, <8 x float>* %"acc2"
  %".98" = fadd <8 x float> %".96", %".97"
  %".99" = load <8 x float>, <8 x float>* %"acc3"
  %".100" = fadd <8 x float> %".98", %".99"
  %".101" = load float, float* %"tail"
  %".102" = extractelement <8 x float> %".100", i64 0
  %".103" = fadd float %".101", %".102"
  %".104" = extractelement <8 x float> %".100", i64 1
  %".105" = fadd float %".103", %".104"
  %".106" = extractelement <8 x float> %".100", i64 2
  %".107" = fadd float %".105", %".106"
  %".108" = extractelement <8 x float> %".100", i64 3
  %".109" = fadd float %".107", %".108"
  %".110" = extractelement <8 x float> %".100", i64 4
  %".111" = fadd float %".109", %".110"
  %".112" = extractelement <8 x float> %".100", i64 5
  %".113" = fadd float %".111", %".112"
  %".114" = extractelement <8 x float> %".100", i64 6
  %".115" = fadd float %".113", %".114"
  %".116" = extractelement <8 x float> %".100", i64 7
  %".117" = fadd float %".115", %".116"
  %".118" = getelementptr float, float* %"fc2.bias.1", i64 %"j"
  %".119" = load float, float* %".118"
  %".120" = fadd float %".117", %".119"
  %".121" = mul i64 %"i", 84
  %".122" = add i64 %".121", %"j"
  %".123" = getelementptr float, float* %"fc2", i64 %".122"
  store float %".120", float* %".123"
  %"i.next" = add i64 %"i", 1
  br label %"i.loop"
e0.loop:
  %"e0" = phi  i64 [0, %"j.done"], [%"e0.next", %"e0.body"]
  %".128" = icmp slt i64 %"e0", 84
  br i1 %".128", label %"e0.body", label %"e0.done"
e0.body:
  %".130" = getelementptr float, float* %"fc2", i64 %"e0"
  %"fc2.1" = load float, float* %".130"
  %".131" = fcmp olt float %"fc2.1",              0x0
  %".132" = select  i1 %".131", float              0x0, float %"fc2.1"
  %".133" = getelementptr float, float* %"relu4", i64 %"e0"
  store float %".132", float* %".133"
  %"e0.next" = add i64 %"e0", 1
  br label %"e0.loop"
e0.done:
  %"image.next" = add i64 %"image", 1
  br label %"image.loop"
}

declare <8 x float> @"llvm.fma.v8f32"(<8 x float> %".1", <8 x float> %".2", <8 x float> %".3")

declare float @"llvm.fma.f32"(float %".1", float %".2", float %".3")

define void @"netc_k_54b84496c4dc6e5510d9"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k6_fc2.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== k7_fc3 (netc_k_b0ceb310f46478c85c03)
; ModuleID = "k7_fc3"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define internal void @"k7_fc3.body"(i8* %"services", i8* noalias %"relu4", i8* noalias %"fc3.weight", i8* noalias %"fc3.bias", i8* noalias %"fc3", i8* noalias %"workspace", i64 %"task", i64 %"thread")
{
entry:
  %"acc0" = alloca <8 x float>
  %"acc1" = alloca <8 x float>
  %"acc2" = alloca <8 x float>
  %"acc3" = alloca <8 x float>
  %"tail" = alloca float
  br label %"start"
start:
  %"relu4.1" = bitcast i8* %"relu4" to float*
  %"fc3.weight.1" = bitcast i8* %"fc3.weight" to float*
  %"fc3.bias.1" = bitcast i8* %"fc3.bias" to float*
  %"fc3.1" = bitcast i8* %"fc3" to float*
  %".11" = mul i64 %"thread", 1171840
  %".12" = getelementptr i8, i8* %"workspace", i64 %".11"
  br label %"image.loop"
image.loop:
  %"image" = phi  i64 [0, %"start"], [%"image.next", %"j.done"]
  %".14" = icmp slt i64 %"image", 1
  br i1 %".14", label %"image.body", label %"image.done"
image.body:
  %".16" = sdiv i64 0, 1
  %".17" = mul i64 %".16", 16
  %".18" = add i64 0, 1
  %".19" = sdiv i64 %".18", 1
  %".20" = mul i64 %".19", 16
  %".21" = icmp slt i64 %".20", 10
  %".22" = select  i1 %".21", i64 %".20", i64 10
  br label %"j.loop"
image.done:
  ret void
j.loop:
  %"j" = phi  i64 [%".17", %"image.body"], [%"j.next", %"i.done"]
  %".24" = icmp slt i64 %"j", %".22"
  br i1 %".24", label %"j.body", label %"j.done"
j.body:
  br label %"i.loop"
j.done:
  %"image.next" = add i64 %"image", 1
  br label %"image.loop"
i.loop:
  %"i" = phi  i64 [0, %"j.body"], [%"i.next", %"kt.done"]
  %".27" = icmp slt i64 %"i", 1
  br i1 %".27", label %"i.body", label %"i.done"
i.body:
  %".29" = mul i64 %"i", 84
  %".30" = getelementptr float, float* %"relu4.1", i64 %".29"
  %".31" = mul i64 %"j", 84
  %".32" = getelementptr float, float* %"fc3.weight.1", i64 %".31"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc0"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc1"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc2"
  store <8 x float> <float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0, float              0x0>, <8 x float>* %"acc3"
  br label %"k.loop"
i.done:
  %"j.next" = add i64 %"j", 1
  br label %"j.loop"
k.loop:
  %"k" = phi  i64 [0, %"i.body"], [%"k.next", %"k.body"]
  %".38" = icmp slt i64 %"k", 64
  br i1 %".38", label %"k.body", label %"k.done"
k.body:
  %".40" = getelementptr float, float* %".30", i64 %"k"
  %".41" = bitcast float* %".40" to <8 x float>*
  %".42" = load <8 x float>, <8 x float>* %".41", align 4
  %".43" = getelementptr float, float* %".32", i64 %"k"
  %".44" = bitcast float* %".43" to <8 x float>*
  %".45" = load <8 x float>, <8 x float>* %".44", align 4
  %".46" = load <8 x float>, <8 x float>* %"acc0"
  %".47" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".42", <8 x float> %".45", <8 x float> %".46")
  store <8 x float> %".47", <8 x float>* %"acc0"
  %".49" = add i64 %"k", 8
  %".50" = getelementptr float, float* %".30", i64 %".49"
  %".51" = bitcast float* %".50" to <8 x float>*
  %".52" = load <8 x float>, <8 x float>* %".51", align 4
  %".53" = getelementptr float, float* %".32", i64 %".49"
  %".54" = bitcast float* %".53" to <8 x float>*
  %".55" = load <8 x float>, <8 x float>* %".54", align 4
  %".56" = load <8 x float>, <8 x float>* %"acc1"
  %".57" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".52", <8 x float> %".55", <8 x float> %".56")
  store <8 x float> %".57", <8 x float>* %"acc1"
  %".59" = add i64 %"k", 16
  %".60" = getelementptr float, float* %".30", i64 %".59"
  %".61" = bitcast float* %".60" to <8 x float>*
  %".62" = load <8 x float>, <8 x float>* %".61", align 4
  %".63" = getelementptr float, float* %".32", i64 %".59"
  %".64" = bitcast float* %".63" to <8 x float>*
  %".65" = load <8 x float>, <8 x float>* %".64", align 4
  %".66" = load <8 x float>, <8 x float>* %"acc2"
  %".67" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".62", <8 x float> %".65", <8 x float> %".66")
  store <8 x float> %".67", <8 x float>* %"acc2"
  %".69" = add i64 %"k", 24
  %".70" = getelementptr float, float* %".30", i64 %".69"
  %".71" = bitcast float* %".70" to <8 x float>*
  %".72" = load <8 x float>, <8 x float>* %".71", align 4
  %".73" = getelementptr float, float* %".32", i64 %".69"
  %".74" = bitcast float* %".73" to <8 x float>*
  %".75" = load <8 x float>, <8 x float>* %".74", align 4
  %".76" = load <8 x float>, <8 x float>* %"acc3"
  %".77" = call <8 x float> @"llvm.fma.v8f32"(<8 x float> %".72", <8 x float> %".75", <8 x float> %".76")
  store <8 x float> %".77", <8 x float>* %"acc3"
  %"k.next" = add i64 %"k", 32
  br label %"k.loop"
k.done:
  store float              0x0, float* %"tail"
  br label %"kt.loop"
kt.loop:
  %"kt" = phi  i64 [64, %"k.done"], [%"kt.next", %"kt.body"]
  %".82" = icmp slt i64 %"kt", 84
  br i1 %".82", label %"kt.body", label %"kt.done"
kt.body:
  %".84" = getelementptr float, float* %".30", i64 %"kt"
  %".85" = load float, float* %".84"
  %".86" = getelementptr float, float* %".32", i64 %"kt"
  %".87" = load float, float* %".86"
  %".88" = load float, float* %"tail"
  %".89" = call float @"llvm.fma.f32"(float %".85", float %".87", float %".88")
  store float %".89", float* %"tail"
  %"kt.next" = add i64 %"kt", 1
  br label %"kt.loop"
kt.done:
  %".92" = load <8 x float>, <8 x float>* %"acc0"
  %".93" = load <8 x float>, <8 x float>* %"acc1"
  %".94" = fadd <8 x float> %".92", %".93"
  %".95" = load <8 x float>, <8 x float>* %"acc2"
  %".96" = fadd <8 x float> %".94", %".95"
  %".97" = load <8 x float>, <8 x float>* %"acc3"
  %".98" = fadd <8 x float> %".96", %".97"
  %".99" = load float, float* %"tail"
  %".100" = extractelement <8 x float> %".98", i64 0
  %".101" = fadd float %".99", %".100"
  %".102" = extractelement <8 x float> %".98", i64 1
  %".103" = fadd float %".101", %".102"
  %".104" = extractelement <8 x float> %".98", i64 2
  %".105" = fadd float %".103", %".104"
  %".106" = extractelement <8 x float> %".98", i64 3
  %".107" = fadd float %".105", %".106"
  %".108" = extractelement <8 x float> %".98", i64 4
  %".109" = fadd float %".107", %".108"
  %".110" = extractelement <8 x float> %".98", i64 5
  %".111" = fadd float %".109", %".110"
  %".112" = extractelement <8 x float> %".98", i64 6
  %".113" = fadd float %".111", %".112"
  %".114" = extractelement <8 x float> %".98", i64 7
  %".115" = fadd float %".113", %".114"
  %".116" = getelementptr float, float* %"fc3.bias.1", i64 %"j"
  %".117" = load float, float* %".116"
  %".118" = fadd float %".115", %".117"
  %".119" = mul i64 %"i", 10
  %".120" = add i64 %".119", %"j"
  %".121" = getelementptr float, float* %"fc3.1", i64 %".120"
  store float %".118", float* %".121"
  %"i.next" = add i64 %"i", 1
  br label %"i.loop"
}

declare <8 x float> @"llvm.fma.v8f32"(<8 x float> %".1", <8 x float> %".2", <8 x float> %".3")

declare float @"llvm.fma.f32"(float %".1", float %".2", float %".3")

define void @"netc_k_b0ceb310f46478c85c03"(i8* %".1", i64 %".2", i64 %".3")
{
entry:
  br label %"start"
start:
  %"table" = bitcast i8* %".1" to i8**
  %".6" = getelementptr i8*, i8** %"table", i64 0
  %".7" = load i8*, i8** %".6"
  %".8" = getelementptr i8*, i8** %"table", i64 1
  %".9" = load i8*, i8** %".8"
  %".10" = getelementptr i8*, i8** %"table", i64 2
  %".11" = load i8*, i8** %".10"
  %".12" = getelementptr i8*, i8** %"table", i64 3
  %".13" = load i8*, i8** %".12"
  %".14" = getelementptr i8*, i8** %"table", i64 4
  %".15" = load i8*, i8** %".14"
  %".16" = getelementptr i8*, i8** %"table", i64 5
  %".17" = load i8*, i8** %".16"
  call void @"k7_fc3.body"(i8* %".7", i8* %".9", i8* %".11", i8* %".13", i8* %".15", i8* %".17", i64 %".2", i64 %".3")
  ret void
}
; ===== entry (netc_forward)
; ModuleID = "lenet5.netc_forward"
target triple = "x86_64-unknown-linux-gnu"
target datalayout = ""

define void @"netc_forward"(i8** %"args")
{
entry:
  %"k1_conv1.table" = alloca [6 x i8*]
  %"k2_pool1.table" = alloca [2 x i8*]
  %"k3_conv2.table" = alloca [6 x i8*]
  %"k4_pool2.table" = alloca [2 x i8*]
  %"k5_fc1.table" = alloca [6 x i8*]
  %"k6_fc2.table" = alloca [6 x i8*]
  %"k7_fc3.table" = alloca [6 x i8*]
  br label %"start"
start:
  %"arena" = load i8*, i8** %"args"
  %".4" = getelementptr i8*, i8** %"args", i64 2
  %"persistent" = load i8*, i8** %".4"
  %".5" = getelementptr i8*, i8** %"args", i64 1
  %"services" = load i8*, i8** %".5"
  %".6" = getelementptr i8*, i8** %"args", i64 4
  %"output" = load i8*, i8** %".6"
  %".7" = bitcast i8* %"services" to i8**
  %"parallel_for" = load i8*, i8** %".7"
  %".8" = bitcast i8* %"parallel_for" to void (i8*, i8*, i64)*
  %".9" = getelementptr i8, i8* %"arena", i64 0
  %".10" = getelementptr i8*, i8** %"args", i64 3
  %"input0" = load i8*, i8** %".10"
  %".11" = getelementptr i8, i8* %"persistent", i64 0
  %".12" = getelementptr i8, i8* %"persistent", i64 640
  %"workspace" = getelementptr i8, i8* %"arena", i64 23552
  %".13" = getelementptr [6 x i8*], [6 x i8*]* %"k1_conv1.table", i64 0, i64 0
  store i8* %"services", i8** %".13"
  %".15" = getelementptr [6 x i8*], [6 x i8*]* %"k1_conv1.table", i64 0, i64 1
  store i8* %".9", i8** %".15"
  %".17" = getelementptr [6 x i8*], [6 x i8*]* %"k1_conv1.table", i64 0, i64 2
  store i8* %"input0", i8** %".17"
  %".19" = getelementptr [6 x i8*], [6 x i8*]* %"k1_conv1.table", i64 0, i64 3
  store i8* %".11", i8** %".19"
  %".21" = getelementptr [6 x i8*], [6 x i8*]* %"k1_conv1.table", i64 0, i64 4
  store i8* %".12", i8** %".21"
  %".23" = getelementptr [6 x i8*], [6 x i8*]* %"k1_conv1.table", i64 0, i64 5
  store i8* %"workspace", i8** %".23"
  %".25" = bitcast [6 x i8*]* %"k1_conv1.table" to i8*
  %".26" = bitcast void (i8*, i64, i64)* @"netc_k_4a88004ef79f4858711e" to i8*
  call void %".8"(i8* %".26", i8* %".25", i64 4)
  %".28" = getelementptr i8, i8* %"arena", i64 0
  %".29" = getelementptr i8, i8* %"arena", i64 18816
  %".30" = getelementptr [2 x i8*], [2 x i8*]* %"k2_pool1.table", i64 0, i64 0
  store i8* %".28", i8** %".30"
  %".32" = getelementptr [2 x i8*], [2 x i8*]* %"k2_pool1.table", i64 0, i64 1
  store i8* %".29", i8** %".32"
  %".34" = bitcast [2 x i8*]* %"k2_pool1.table" to i8*
  call void @"netc_k_54c86f34c5c7a0ebf21c"(i8* %".34", i64 0, i64 0)
  %".36" = getelementptr i8, i8* %"arena", i64 0
  %".37" = getelementptr i8, i8* %"arena", i64 18816
  %".38" = getelementptr i8, i8* %"persistent", i64 704
  %".39" = getelementptr i8, i8* %"persistent", i64 10304
  %"workspace.1" = getelementptr i8, i8* %"arena", i64 23552
  %".40" = getelementptr [6 x i8*], [6 x i8*]* %"k3_conv2.table", i64 0, i64 0
  store i8* %"services", i8** %".40"
  %".42" = getelementptr [6 x i8*], [6 x i8*]* %"k3_conv2.table", i64 0, i64 1
  store i8* %".36", i8** %".42"
  %".44" = getelementptr [6 x i8*], [6 x i8*]* %"k3_conv2.table", i64 0, i64 2
  store i8* %".37", i8** %".44"
  %".46" = getelementptr [6 x i8*], [6 x i8*]* %"k3_conv2.table", i64 0, i64 3
  store i8* %".38", i8** %".46"
  %".48" = getelementptr [6 x i8*], [6 x i8*]* %"k3_conv2.table", i64 0, i64 4
  store i8* %".39", i8** %".48"
  %".50" = getelementptr [6 x i8*], [6 x i8*]* %"k3_conv2.table", i64 0, i64 5
  store i8* %"workspace.1", i8** %".50"
  %".52" = bitcast [6 x i8*]* %"k3_conv2.table" to i8*
  %".53" = bitcast void (i8*, i64, i64)* @"netc_k_3414b7335606c1af85cd" to i8*
  call void %".8"(i8* %".53", i8* %".52", i64 4)
  %".55" = getelementptr i8, i8* %"arena", i64 0
  %".56" = getelementptr i8, i8* %"arena", i64 6400
  %".57" = getelementptr [2 x i8*], [2 x i8*]* %"k4_pool2.table", i64 0, i64 0
  store i8* %".55", i8** %".57"
  %".59" = getelementptr [2 x i8*], [2 x i8*]* %"k4_pool2.table", i64 0, i64 1
  store i8* %".56", i8** %".59"
  %".61" = bitcast [2 x i8*]* %"k4_pool2.table" to i8*
  call void @"netc_k_07d4020f3cd497849c25"(i8* %".61", i64 0, i64 0)
  %".63" = getelementptr i8, i8* %"arena", i64 0
  %".64" = getelementptr i8, i8* %"arena", i64 6400
  %".65" = getelementptr i8, i8* %"persistent", i64 10368
  %".66" = getelementptr i8, i8* %"persistent", i64 202368
  %"workspace.2" = getelementptr i8, i8* %"arena", i64 23552
  %".67" = getelementptr [6 x i8*], [6 x i8*]* %"k5_fc1.table", i64 0, i64 0
  store i8* %"services", i8** %".67"
  %".69" = getelementptr [6 x i8*], [6 x i8*]* %"k5_fc1.table", i64 0, i64 1
  store i8* %".63", i8** %".69"
  %".71" = getelementptr [6 x i8*], [6 x i8*]* %"k5_fc1.table", i64 0, i64 2
  store i8* %".64", i8** %".71"
  %".73" = getelementptr [6 x i8*], [6 x i8*]* %"k5_fc1.table", i64 0, i64 3
  store i8* %".65", i8** %".73"
  %".75" = getelementptr [6 x i8*], [6 x i8*]* %"k5_fc1.table", i64 0, i64 4
  store i8* %".66", i8** %".75"
  %".77" = getelementptr [6 x i8*], [6 x i8*]* %"k5_fc1.table", i64 0, i64 5
  store i8* %"workspace.2", i8** %".77"
  %".79" = bitcast [6 x i8*]* %"k5_fc1.table" to i8*
  %".80" = bitcast void (i8*, i64, i64)* @"netc_k_fe4b84062c38ae9975cf" to i8*
  call void %".8"(i8* %".80", i8* %".79", i64 4)
  %".82" = getelementptr i8, i8* %"arena", i64 512
  %".83" = getelementptr i8, i8* %"arena", i64 0
  %".84" = getelementptr i8, i8* %"persistent", i64 202880
  %".85" = getelementptr i8, i8* %"persistent", i64 243200
  %"workspace.3" = getelementptr i8, i8* %"arena", i64 23552
  %".86" = getelementptr [6 x i8*], [6 x i8*]* %"k6_fc2.table", i64 0, i64 0
  store i8* %"services", i8** %".86"
  %".88" = getelementptr [6 x i8*], [6 x i8*]* %"k6_fc2.table", i64 0, i64 1
  store i8* %".82", i8** %".88"
  %".90" = getelementptr [6 x i8*], [6 x i8*]* %"k6_fc2.table", i64 0, i64 2
  store i8* %".83", i8** %".90"
  %".92" = getelementptr [6 x i8*], [6 x i8*]* %"k6_fc2.table", i64 0, i64 3
  store i8* %".84", i8** %".92"
  %".94" = getelementptr [6 x i8*], [6 x i8*]* %"k6_fc2.table", i64 0, i64 4
  store i8* %".85", i8** %".94"
  %".96" = getelementptr [6 x i8*], [6 x i8*]* %"k6_fc2.table", i64 0, i64 5
  store i8* %"workspace.3", i8** %".96"
  %".98" = bitcast [6 x i8*]* %"k6_fc2.table" to i8*
  call void @"netc_k_54b84496c4dc6e5510d9"(i8* %".98", i64 0, i64 0)
  %".100" = getelementptr i8, i8* %"arena", i64 512
  %".101" = getelementptr i8, i8* %"persistent", i64 243584
  %".102" = getelementptr i8, i8* %"persistent", i64 246976
  %".103" = getelementptr i8, i8* %"output", i64 0
  %"workspace.4" = getelementptr i8, i8* %"arena", i64 23552
  %".104" = getelementptr [6 x i8*], [6 x i8*]* %"k7_fc3.table", i64 0, i64 0
  store i8* %"services", i8** %".104"
  %".106" = getelementptr [6 x i8*], [6 x i8*]* %"k7_fc3.table", i64 0, i64 1
  store i8* %".100", i8** %".106"
  %".108" = getelementptr [6 x i8*], [6 x i8*]* %"k7_fc3.table", i64 0, i64 2
  store i8* %".101", i8** %".108"
  %".110" = getelementptr [6 x i8*], [6 x i8*]* %"k7_fc3.table", i64 0, i64 3
  store i8* %".102", i8** %".110"
  %".112" = getelementptr [6 x i8*], [6 x i8*]* %"k7_fc3.table", i64 0, i64 4
  store i8* %".103", i8** %".112"
  %".114" = getelementptr [6 x i8*], [6 x i8*]* %"k7_fc3.table", i64 0, i64 5
  store i8* %"workspace.4", i8** %".114"
  %".116" = bitcast [6 x i8*]* %"k7_fc3.table" to i8*
  call void @"netc_k_b0ceb310f46478c85c03"(i8* %".116", i64 0, i64 0)
  ret void
}

declare i64 @"llvm.readcyclecounter"()

declare void @"netc_k_4a88004ef79f4858711e"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_54c86f34c5c7a0ebf21c"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_3414b7335606c1af85cd"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_07d4020f3cd497849c25"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_fe4b84062c38ae9975cf"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_54b84496c4dc6e5510d9"(i8* %".1", i64 %".2", i64 %".3")

declare void @"netc_k_b0ceb310f46478c85c03"(i8* %".1", i64 %".2", i64 %".3")
